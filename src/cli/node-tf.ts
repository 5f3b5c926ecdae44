// tfjs for Node CLIs: the wasm backend (the fastest single-threaded backend here) unless
// EXBEHRT_BACKEND or --backend asks for another. Same selection code as the worker.
import '@tensorflow/tfjs-backend-wasm';
import { isBackendName, selectBackend } from '../backend';

export async function useBackend(name = process.env.EXBEHRT_BACKEND ?? 'wasm'): Promise<string> {
  if (!isBackendName(name)) throw new Error(`unknown backend ${name}: use webgpu, wasm or cpu`);
  return selectBackend(name);
}
