// The Python the training and conversion scripts run with.

/** $PYTHON, else Debian's /usr/bin/python3 (the one with python3-torch and python3-onnx). */
export function python(): string {
  return process.env.PYTHON ?? "/usr/bin/python3";
}
