// tfjs backend selection: webgpu -> wasm -> cpu, the first one that initialises.
// Works in the browser (page or worker) and in Node. Browser-only set-up (where the .wasm files are
// served) lives in backend-browser.ts, so Node code can import this module without Vite.
import * as tf from '@tensorflow/tfjs'; // the umbrella: registers gradients and chained ops
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu'; // registers 'webgpu' only where navigator.gpu exists

export type BackendName = 'webgpu' | 'wasm' | 'cpu';

/** tfjs-backend-webgpu 4.22's AddN binds all its inputs as storage buffers of one shader. Past the
 *  device's maxStorageBuffersPerShaderStage - 1 inputs (7 by default) the pipeline is invalid, WebGPU
 *  only logs a validation error, and the output silently holds garbage: the ExBEHRT embedding sum
 *  has 11 parts. Re-register the kernel to add in chunks that fit (its Concat already does so).
 *  Gradients are unaffected: AddN's gradient is registered apart from the kernel. */
function patchWebgpuAddN(): void {
  const kernel = tf.getKernel('AddN', 'webgpu');
  if (!kernel) return;
  const original = kernel.kernelFunc;
  type Info = tf.TensorInfo;
  type WebGPULike = { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } }; disposeData(dataId: object): boolean };
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    ...kernel,
    kernelFunc: (args) => {
      const backend = args.backend as unknown as WebGPULike;
      const max = Math.max(2, (backend.device?.limits?.maxStorageBuffersPerShaderStage ?? 8) - 1);
      let inputs = Array.from(args.inputs as unknown as ArrayLike<Info>);
      const temps: Info[] = [];
      while (inputs.length > max) {
        const next: Info[] = [];
        for (let i = 0; i < inputs.length; i += max) {
          const chunk = inputs.slice(i, i + max);
          if (chunk.length === 1) next.push(chunk[0]);
          else {
            const partial = original({ ...args, inputs: chunk as unknown as tf.NamedTensorInfoMap }) as Info;
            temps.push(partial);
            next.push(partial);
          }
        }
        inputs = next;
      }
      const out = original({ ...args, inputs: inputs as unknown as tf.NamedTensorInfoMap });
      for (const t of temps) backend.disposeData(t.dataId);
      return out;
    },
  });
}
patchWebgpuAddN();

/** tfjs-backend-wasm 4.22 multiplies through XNNPACK only a single matrix product with neither
 *  operand transposed; a batched one (the attention's [batch, heads, L, L] products, forward and
 *  backward) goes through a plain loop about 8x slower per FLOP, which made these products more than
 *  half of EG's time on wasm. Re-register BatchMatMul to run a batched product as one untransposed
 *  2-D product per batch item: operands transposed first by the wasm Transpose kernel, each item
 *  copied into its own 2-D tensors (the copies are memcpy; a fresh right-hand tensor per item,
 *  because XNNPACK caches its packed operand by tensor id), its product copied into the output.
 *  Same products and sums per output element, in XNNPACK's order: tests/unit/wasm-matmul.test.ts
 *  compares with exact products (float64) and checks for leaks. Broadcast batch dims and other
 *  dtypes keep the built-in kernel. */
function patchWasmBatchMatMul(): void {
  const kernel = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!kernel || !transpose) return;
  const original = kernel.kernelFunc;
  type Info = tf.TensorInfo;
  type WasmLike = { makeOutput(shape: number[], dtype: tf.DataType): Info; typedArrayFromHeap(t: Info): Float32Array; disposeData(dataId: object): boolean };
  const call = (f: tf.KernelFunc, inputs: Record<string, Info>, backend: unknown, attrs: object) =>
    f({ inputs: inputs as tf.NamedTensorInfoMap, backend: backend as tf.KernelBackend, attrs: attrs as tf.NamedAttrMap }) as Info;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    ...kernel, // and its setupFunc, which binds the wasm function that `original` calls
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: Info; b: Info };
      const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const backend = args.backend as unknown as WasmLike;
      const outer = a.shape.slice(0, -2);
      const batch = tf.util.sizeFromShape(outer);
      const plain = batch <= 1 || a.dtype !== 'float32' || b.dtype !== 'float32' || !tf.util.arraysEqual(outer, b.shape.slice(0, -2)) || a.shape.includes(0) || b.shape.includes(0);
      if (plain) return original(args);
      // untransposed operands: [..., m, k] and [..., k, n]
      const swapLast = (x: Info) => {
        const perm = x.shape.map((_, i) => i);
        [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
        return call(transpose.kernelFunc, { x }, backend, { perm });
      };
      const a3 = transposeA ? swapLast(a) : a;
      const b3 = transposeB ? swapLast(b) : b;
      const [m, k] = a3.shape.slice(-2);
      const n = b3.shape[b3.shape.length - 1];
      const out = backend.makeOutput([...outer, m, n], 'float32');
      // views are taken afresh after every allocation: a growing wasm memory detaches the old ones
      const view = (t: Info) => backend.typedArrayFromHeap(t);
      for (let i = 0; i < batch; i++) {
        const ai = backend.makeOutput([m, k], 'float32');
        const bi = backend.makeOutput([k, n], 'float32');
        view(ai).set(view(a3).subarray(i * m * k, (i + 1) * m * k));
        view(bi).set(view(b3).subarray(i * k * n, (i + 1) * k * n));
        const ci = call(original, { a: ai, b: bi }, backend, { transposeA: false, transposeB: false });
        view(out).set(view(ci), i * m * n);
        for (const t of [ai, bi, ci]) backend.disposeData(t.dataId);
      }
      if (a3 !== a) backend.disposeData(a3.dataId);
      if (b3 !== b) backend.disposeData(b3.dataId);
      return out;
    },
  });
}
patchWasmBatchMatMul();

/** Fastest first. A later backend is the fallback of every earlier one. */
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'wasm', 'cpu'];

export const isBackendName = (s: unknown): s is BackendName => typeof s === 'string' && (BACKEND_ORDER as readonly string[]).includes(s);

/** The backends to try, in order, starting at `preferred` (default: the fastest). Asking for wasm
 *  never gives WebGPU; asking for cpu gives cpu. Also the recovery path: when a backend is lost
 *  (e.g. a WebGPU device), select again from the backend after it. */
export function backendsFrom(preferred: BackendName = BACKEND_ORDER[0]): BackendName[] {
  return BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(preferred));
}

/** The backend to fall back to when `name` fails at run time, or null after cpu. */
export function fallbackOf(name: BackendName): BackendName | null {
  return BACKEND_ORDER[BACKEND_ORDER.indexOf(name) + 1] ?? null;
}

/** Why WebGPU cannot be used here, or null when it can: it needs navigator.gpu and an adapter
 *  (without a GPU or with WebGPU disabled, requestAdapter() resolves to null; a broken driver or
 *  GPU process can make it reject). */
export async function webgpuUnavailableReason(): Promise<string | null> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (!gpu) return 'this browser has no WebGPU (navigator.gpu)';
  if (!tf.findBackendFactory('webgpu')) return 'the tfjs WebGPU backend is not registered';
  try {
    return (await gpu.requestAdapter()) != null ? null : 'no WebGPU adapter';
  } catch (e) {
    return `the WebGPU adapter request failed (${(e as Error)?.message ?? String(e)})`;
  }
}

export interface SelectOptions {
  /** told about each backend that was skipped and why (logging, a status line) */
  onSkip?: (name: BackendName, reason: string) => void;
}

async function trySetBackend(name: BackendName): Promise<string | null> {
  if (name === 'webgpu') {
    const why = await webgpuUnavailableReason();
    if (why) return why;
  }
  if (!tf.findBackendFactory(name)) return 'not registered';
  // tfjs prints advice (install tfjs-node) on Node; it cannot be installed here
  const warn = console.warn;
  if (tf.env().getBool('IS_NODE')) console.warn = () => {};
  try {
    if (!(await tf.setBackend(name))) return 'failed to initialise';
    await tf.ready();
    return tf.engine().backendName === name ? null : `tfjs switched to ${tf.engine().backendName}`;
  } catch (e) {
    return (e as Error)?.message ?? String(e);
  } finally {
    console.warn = warn;
  }
}

/** Make the first backend that works, from `preferred` on, the active tfjs backend, and return its
 *  name. cpu always works, so this only throws if something is badly broken. */
export async function selectBackend(preferred?: BackendName, opts: SelectOptions = {}): Promise<BackendName> {
  const reasons: string[] = [];
  for (const name of backendsFrom(preferred)) {
    const why = await trySetBackend(name);
    if (why === null) return name;
    reasons.push(`${name}: ${why}`);
    opts.onSkip?.(name, why);
  }
  throw new Error(`no tfjs backend could be initialised (${reasons.join('; ')})`);
}

/** The active backend's name, as selectBackend returns it; null before one was selected (unlike
 *  tf.getBackend(), this never initialises a backend as a side effect). */
export function activeBackend(): BackendName | null {
  const b = tf.engine().backendName;
  return isBackendName(b) ? b : null;
}
