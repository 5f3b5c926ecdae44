// Gradients that tfjs 4.22 computes wastefully for this model, re-registered with the same numbers.
//
// Sum and Mean: broadcast dy instead of multiplying it by ones(x.shape).
// tfjs's own (4.22) build that ones tensor on the CPU for every call, and on WebGPU each one is then
// uploaded to the GPU: LayerNorm's moments make two per LayerNorm, so an EG batch of 128 samples
// at 256 tokens would fill and upload ten 8 MB arrays of ones in its backward pass (a CPU profile
// on an H100, batches of 16, put the fills and uploads at 12-15% of EG's time; BENCHMARKS.md).
// broadcastTo is one kernel on every backend (Tile) and gives the same numbers: dy * 1 = dy, and
// dy / n is the same division whether it happens before or after the broadcast.
//
// BatchMatMul: a plain 2-D a @ b (every linear layer) differentiates as dy @ transpose(b) and
// transpose(a) @ dy, two untransposed matMuls on explicitly transposed inputs: tfjs-wasm runs
// untransposed 2-D matMuls through XNNPACK (~10 GFLOP/s here) and transposed ones through a slow
// loop (~1 GFLOP/s), which tfjs's own gradient (the transposed forms) would hit. Each input's
// gradient is its own lazy function, so the tape computes only those it needs: attribution asks
// for the embeddings' gradient, and a linear's weight gradient (transpose(a) @ dy, as many FLOPs
// as the layer's forward) is then never computed. (This replaces a customGrad, whose gradient
// function computed both every time.) Other matMuls (the attention's batched ones) keep tfjs's
// own gradient, which is lazy already.
//
// Registered once, on import of the model code, so the CLI, the tests, training and the worker all
// run the same gradients.
import * as tf from '@tensorflow/tfjs';

/** dy's shape with the reduced axes kept as 1, and how many elements each output reduced. */
function expandedShape(shape: number[], axis: number | number[] | undefined): { expanded: number[]; reduceSize: number } {
  const axes = tf.util.parseAxisParam(axis ?? shape.map((_, i) => i), shape); // no axis: all
  return { expanded: shape.map((d, i) => (axes.includes(i) ? 1 : d)), reduceSize: axes.reduce((n, a) => n * shape[a], 1) };
}

type Attrs = { axis?: number | number[] };
type MatMulAttrs = { transposeA: boolean; transposeB: boolean };

tf.registerGradient({
  kernelName: tf.Sum,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { expanded } = expandedShape(x.shape, (attrs as unknown as Attrs).axis);
    return { x: () => tf.broadcastTo(tf.reshape(dy as tf.Tensor, expanded), x.shape) };
  },
});

tf.registerGradient({
  kernelName: tf.Mean,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { expanded, reduceSize } = expandedShape(x.shape, (attrs as unknown as Attrs).axis);
    return { x: () => tf.broadcastTo(tf.div(tf.reshape(dy as tf.Tensor, expanded), reduceSize), x.shape) };
  },
});

const tfjsMatMulGradient = tf.getGradient(tf.BatchMatMul);
tf.registerGradient({
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as MatMulAttrs;
    if (transposeA || transposeB || a.rank !== 2 || b.rank !== 2) return tfjsMatMulGradient.gradFunc(dy, saved, attrs);
    const d = dy as tf.Tensor2D;
    return { a: () => tf.matMul(d, tf.transpose(b) as tf.Tensor2D), b: () => tf.matMul(tf.transpose(a) as tf.Tensor2D, d) };
  },
});
