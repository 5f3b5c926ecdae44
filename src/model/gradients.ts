// Gradients of Sum and Mean that broadcast dy instead of multiplying it by ones(x.shape).
// tfjs's own (4.22) build that ones tensor on the CPU for every call, and on WebGPU each one is then
// uploaded to the GPU: LayerNorm's moments make two per LayerNorm, so an EG batch of 128 samples
// at 256 tokens would fill and upload ten 8 MB arrays of ones in its backward pass (a CPU profile
// on an H100, batches of 16, put the fills and uploads at 12-15% of EG's time; BENCHMARKS.md).
// broadcastTo is one kernel on every backend (Tile) and gives the same numbers: dy * 1 = dy, and
// dy / n is the same division whether it happens before or after the broadcast.
// Registered once, on import of the model code, so the CLI, the tests, training and the worker all
// run the same gradients.
import * as tf from '@tensorflow/tfjs';

/** dy's shape with the reduced axes kept as 1, and how many elements each output reduced. */
function expandedShape(shape: number[], axis: number | number[] | undefined): { expanded: number[]; reduceSize: number } {
  const axes = tf.util.parseAxisParam(axis ?? shape.map((_, i) => i), shape); // no axis: all
  return { expanded: shape.map((d, i) => (axes.includes(i) ? 1 : d)), reduceSize: axes.reduce((n, a) => n * shape[a], 1) };
}

type Attrs = { axis?: number | number[] };

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
