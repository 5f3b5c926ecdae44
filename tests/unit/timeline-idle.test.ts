// The timeline's idle-time scheduling (src/app/timeline/idle.ts): deferred work waits for an idle
// period with enough of it left; the steps of opening a patient wait for later animation frames.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { afterFrames, whenIdle } from '../../src/app/timeline/idle';

/** A fake idle scheduler: `idle(ms, timedOut)` runs the pending callbacks with `ms` left. */
function fakeIdle() {
  let next = 1;
  const pending = new Map<number, (d: IdleDeadline) => void>();
  vi.stubGlobal('requestIdleCallback', (f: (d: IdleDeadline) => void) => (pending.set(next, f), next++));
  vi.stubGlobal('cancelIdleCallback', (h: number) => pending.delete(h));
  return {
    pending: () => pending.size,
    idle(ms: number, didTimeout = false) {
      const now = [...pending.values()];
      pending.clear();
      for (const f of now) f({ didTimeout, timeRemaining: () => ms });
    },
  };
}

/** A fake animation-frame clock: `frame()` runs the callbacks pending at its start. */
function fakeFrames() {
  let next = 1;
  const pending = new Map<number, FrameRequestCallback>();
  vi.stubGlobal('requestAnimationFrame', (f: FrameRequestCallback) => (pending.set(next, f), next++));
  vi.stubGlobal('cancelAnimationFrame', (h: number) => pending.delete(h));
  return {
    pending: () => pending.size,
    frame() {
      const now = [...pending.values()];
      pending.clear();
      for (const f of now) f(0);
    },
  };
}

afterEach(() => vi.unstubAllGlobals());

describe('afterFrames', () => {
  it('runs at the start of the n-th frame, or at once without frames', () => {
    const frames = fakeFrames();
    const ran: string[] = [];
    afterFrames(3, () => ran.push('third'));
    afterFrames(1, () => ran.push('first'));
    frames.frame();
    expect(ran).toEqual(['first']);
    frames.frame();
    expect(ran).toEqual(['first']);
    frames.frame();
    expect(ran).toEqual(['first', 'third']);
    expect(frames.pending()).toBe(0);
    afterFrames(0, () => ran.push('now'));
    expect(ran).toEqual(['first', 'third', 'now']);
    vi.unstubAllGlobals();
    vi.stubGlobal('requestAnimationFrame', undefined);
    afterFrames(2, () => ran.push('node'));
    expect(ran.at(-1)).toBe('node');
  });
  it('can be cancelled between frames', () => {
    const frames = fakeFrames();
    const ran: string[] = [];
    const cancel = afterFrames(2, () => ran.push('x'));
    frames.frame();
    cancel();
    frames.frame();
    frames.frame();
    expect(ran).toEqual([]);
    expect(frames.pending()).toBe(0);
  });
});

describe('whenIdle', () => {
  it('waits for an idle period with the time it needs, or for the timeout', () => {
    const idle = fakeIdle();
    const ran: number[] = [];
    whenIdle((d) => ran.push(d!.timeRemaining()), 4);
    idle.idle(1); // too little left: asks again
    expect(ran).toEqual([]);
    expect(idle.pending()).toBe(1);
    idle.idle(9);
    expect(ran).toEqual([9]);
    whenIdle(() => ran.push(-1), 4);
    idle.idle(0, true); // the browser's timeout: runs whatever is left
    expect(ran).toEqual([9, -1]);
  });
  it('with frames, asks for idle time only from that frame on; cancellable before and after', () => {
    const frames = fakeFrames();
    const idle = fakeIdle();
    const ran: string[] = [];
    whenIdle(() => ran.push('a'), 4, 2);
    idle.idle(10); // nothing asked yet
    frames.frame();
    expect(idle.pending()).toBe(0);
    frames.frame();
    expect(idle.pending()).toBe(1);
    idle.idle(10);
    expect(ran).toEqual(['a']);
    const early = whenIdle(() => ran.push('b'), 4, 1);
    early();
    frames.frame();
    const late = whenIdle(() => ran.push('c'), 4, 1);
    frames.frame();
    late();
    idle.idle(10);
    expect(ran).toEqual(['a']);
    expect(idle.pending() + frames.pending()).toBe(0);
  });
  it('can be cancelled, also after it has asked again', () => {
    const idle = fakeIdle();
    const ran: string[] = [];
    const cancel = whenIdle(() => ran.push('x'), 4);
    idle.idle(1);
    cancel();
    idle.idle(10);
    expect(ran).toEqual([]);
    expect(idle.pending()).toBe(0);
  });
});
