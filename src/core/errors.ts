// Typed errors. Every failure the project can explain is one of these, with a stable `code`
// and the name of the thing at fault (file, tensor, argument, op) in the message.

export class LlavaStError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Shapes that do not fit an op: names the op and both shapes. */
export class ShapeError extends LlavaStError {
  constructor(message: string) { super('E_SHAPE', message); }
}

/** A dtype an op or a file does not support. */
export class DTypeError extends LlavaStError {
  constructor(message: string) { super('E_DTYPE', message); }
}

/** No adapter, device lost, an uncaptured validation error surfaced at the next call. */
export class DeviceError extends LlavaStError {
  constructor(message: string, options?: { cause?: unknown }) { super('E_DEVICE', message, options); }
}

/** A buffer or dispatch over the device's limits, refused before any GPU call. */
export class LimitError extends LlavaStError {
  constructor(message: string) { super('E_LIMIT', message); }
}

/** Use of a tensor after dispose(), or a double dispose. */
export class OwnershipError extends LlavaStError {
  constructor(message: string) { super('E_OWNERSHIP', message); }
}

/** A malformed or inconsistent safetensors file or index: names the file and the tensor. */
export class SafetensorsError extends LlavaStError {
  readonly file: string;
  readonly tensor: string | undefined;
  constructor(file: string, tensor: string | undefined, message: string) {
    super('E_SAFETENSORS', `${file}${tensor !== undefined ? ` [${tensor}]` : ''}: ${message}`);
    this.file = file;
    this.tensor = tensor;
  }
}

/** Missing, unexpected or mis-shaped weights for a model config. */
export class WeightError extends LlavaStError {
  constructor(message: string) { super('E_WEIGHTS', message); }
}

/** An unknown or contradictory config.json value. */
export class ConfigError extends LlavaStError {
  constructor(file: string, message: string) { super('E_CONFIG', `${file}: ${message}`); }
}

/** An object used out of its lifecycle order (before it was prepared, after it was disposed). */
export class StateError extends LlavaStError {
  constructor(message: string) { super('E_STATE', message); }
}

/** A model stage (built in or a caller's replacement) that breaks its tensor contract (model/stages.ts). */
export class StageError extends LlavaStError {
  constructor(message: string) { super('E_STAGE', message); }
}

/** Bad user input at the edges: unreadable video or image, bad split, unknown task, bad argument. */
export class InputError extends LlavaStError {
  constructor(message: string, options?: { cause?: unknown }) { super('E_INPUT', message, options); }
}
