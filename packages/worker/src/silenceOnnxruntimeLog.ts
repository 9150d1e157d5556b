import ort from 'onnxruntime-node';

/**
 * onnxruntime's native default logger writes plain (coloured) text to stderr itself, past batchscore's log, so
 * under --log-format json a pod's log would hold lines that are not JSON: asking for CUDA where its provider cannot
 * load prints `[E:onnxruntime:…] … Failed to load library …` before the error batchscore reports anyway. The
 * level is read once per process, when the first session is created (onnxruntime-node's initOrt), and onnxruntime
 * reads no environment variable for it; so every session creation calls this first. Sessions pass
 * logSeverityLevel: 4 for their own logger. Only `fatal` is left: onnxruntime logs that just before it aborts.
 */
export function silenceOnnxruntimeLog(): void {
  ort.env.logLevel = 'fatal';
}
