// The store's state for a view: zustand's useStore re-renders through useSyncExternalStore, which
// React always renders synchronously, so each progress report of a running explanation re-rendered
// the whole workbench in one task (30-40 ms for a 254-token patient, over 50 ms with its layout:
// bench/workbench.mjs's "explain in the page"). Here updates the store marks as a worker's progress
// (isBackgroundUpdate) render in a transition instead: in slices that yield to input and to frames,
// and interrupted by any urgent update. Every update carries the store's whole state, so a render
// never mixes two snapshots; the user's own actions render at once, as before.
import { startTransition, useEffect, useState } from 'react';
import type { StoreApi } from 'zustand/vanilla';
import { isBackgroundUpdate } from '../state/store';

export function useStoreState<T>(store: StoreApi<T>): T {
  const [state, setState] = useState(store.getState);
  useEffect(() => {
    setState(store.getState()); // anything set between the first render and this subscription
    return store.subscribe((next) => (isBackgroundUpdate() ? startTransition(() => setState(next)) : setState(next)));
  }, [store]);
  return state;
}
