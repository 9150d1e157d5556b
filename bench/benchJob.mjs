// The job both benches run: the peers' fixture (../shared/bench) scored into `out`, customer_id passed through.
export function benchJob({ name, input, model, out, rowsPerShard }) {
  return `apiVersion: batchscore.dev/v1alpha1
kind: ScoringJob
metadata: {name: bench-${name}}
spec:
  input: {uri: "${input}"}
  model:
    uri: "${model}"
    version: v1
    inputs: [{name: features, columns: [age, income, credit, loan]}]
    outputs: [{name: probabilities, index: 1, column: score}]
  output: {uri: "${out}/", passthrough: [customer_id]}
  sharding: {rowsPerShard: ${rowsPerShard}}
  worker: {device: cpu}
`;
}
