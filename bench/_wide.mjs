import ort from 'onnxruntime-node';
const n = 65536 * 2; const x = new Float32Array(n * 4); for (let i = 0; i < x.length; i++) x[i] = [38, 55000, 680, 18000][i % 4] * (0.5 + Math.random());
for (const threads of [1, 2]) for (const opt of ['all', 'basic']) {
  const s = await ort.InferenceSession.create('/tmp/fx/wide.onnx', { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: opt, executionProviders: ['cpu'] });
  for (const b of [4096, 16384, 65536]) {
    await s.run({ features: new ort.Tensor('float32', x.subarray(0, b * 4), [b, 4]) });
    const t = performance.now();
    for (let o = 0; o < n; o += b) await s.run({ features: new ort.Tensor('float32', x.subarray(o * 4, (o + b) * 4), [b, 4]) });
    console.log(`threads ${threads} opt ${opt} batch ${b}: ${Math.round(n / ((performance.now() - t) / 1000))} rows/s`);
  }
}
