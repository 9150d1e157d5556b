import ort from 'onnxruntime-node';
const n = 65536 * 2; const x = new Float32Array(n * 4); for (let i = 0; i < x.length; i++) x[i] = [38, 55000, 680, 18000][i % 4] * (0.5 + Math.random());
for (const spin of ['1', '0']) {
  const s = await ort.InferenceSession.create('/tmp/fx/wide.onnx', { intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'], extra: { session: { intra_op: { allow_spinning: spin } } } });
  for (const b of [1024, 4096, 16384]) {
    await s.run({ features: new ort.Tensor('float32', x.subarray(0, b * 4), [b, 4]) });
    const t = performance.now();
    for (let o = 0; o < n; o += b) { await s.run({ features: new ort.Tensor('float32', x.subarray(o * 4, (o + b) * 4), [b, 4]) }); let z = 0; for (let k = 0; k < b * 20; k++) z += k; }
    console.log(`spin ${spin} batch ${b}: ${Math.round(n / ((performance.now() - t) / 1000))} rows/s (with JS work between runs)`);
  }
}
