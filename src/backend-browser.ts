// Browser-only half of backend selection: tells the wasm backend where Vite put its .wasm files.
// Node code uses backend.ts directly (the wasm backend finds its files next to itself there).
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { selectBackend as selectAnyBackend, type BackendName, type SelectOptions } from './backend';

export * from './backend';

let configured = false;

/** Point the wasm backend at the bundled .wasm files (absolute URLs, so a worker resolves them
 *  against the page's origin, not its own script) and keep it single-threaded: threaded wasm needs
 *  cross-origin isolation and breaks in a minified build. Idempotent. */
export function configureBrowserWasm(): void {
  if (configured) return;
  const abs = (u: string) => new URL(u, globalThis.location.href).href;
  setWasmPaths({
    'tfjs-backend-wasm.wasm': abs(wasmPlain),
    'tfjs-backend-wasm-simd.wasm': abs(wasmSimd),
    'tfjs-backend-wasm-threaded-simd.wasm': abs(wasmThreadedSimd),
  });
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  configured = true;
}

/** selectBackend for the browser (page or worker): configures wasm first. */
export async function selectBackend(preferred?: BackendName, opts?: SelectOptions): Promise<BackendName> {
  configureBrowserWasm();
  return selectAnyBackend(preferred, opts);
}
