/** A run's place in the output: its batch date and model version (`batch_date=D/model_version=V/`). */
export interface RunKey {
  batchDate: string;
  modelVersion: string;
}

/**
 * The run key of a plan (its date and the model version it planned), of a manifest (the run it published), or of a
 * job for a date. The one place the key is built: everything the run writes is found from it (keys.ts).
 */
export function runKeyOf(plan: { batchDate: string; model: { version: string } }): RunKey;
export function runKeyOf(manifest: { batch_date: string; model: { version: string } }): RunKey;
export function runKeyOf(job: { spec: { model: { version: string } } }, batchDate: string): RunKey;
export function runKeyOf(
  x:
    | { batchDate: string; model: { version: string } }
    | { batch_date: string; model: { version: string } }
    | { spec: { model: { version: string } } },
  batchDate?: string,
): RunKey {
  if ('spec' in x) return { batchDate: batchDate!, modelVersion: x.spec.model.version };
  if ('batch_date' in x) return { batchDate: x.batch_date, modelVersion: x.model.version };
  return { batchDate: x.batchDate, modelVersion: x.model.version };
}
