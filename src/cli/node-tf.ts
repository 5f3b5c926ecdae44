// tfjs for Node CLIs: the wasm backend (fastest single-threaded backend here) unless asked otherwise.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export async function useBackend(name = process.env.EXBEHRT_BACKEND ?? 'wasm'): Promise<string> {
  // tfjs prints a banner suggesting tfjs-node; it cannot be installed here (it downloads a binary)
  const warn = console.warn;
  console.warn = () => {};
  try {
    if (!(await tf.setBackend(name))) throw new Error(`backend ${name} could not be initialised`);
    await tf.ready();
  } finally {
    console.warn = warn;
  }
  return tf.getBackend();
}
