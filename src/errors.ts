// Errors as classes with stable codes: logs, HTTP answers and tests match on `code`, never on text.

export type ErrorCode =
  | 'GH_CONFIG_INVALID'
  | 'GH_PERMISSION_INVALID'
  | 'GH_REVIEW_INVALID'
  | 'GH_BODY_TOO_LARGE'
  | 'GH_BODY_TIMEOUT'
  | 'GH_KUBE_API'
  | 'GH_CLI_USAGE'
  | 'GH_CONSOLE_HOST'
  | 'GH_CONSOLE_ORIGIN'
  | 'GH_CONSOLE_AUTH'
  | 'GH_CONSOLE_INPUT'
  | 'GH_QUANTITY_INVALID'
  | 'GH_INTERNAL';

export class GatehouseError extends Error {
  readonly code: ErrorCode;
  /** Extra structured fields for logs (never secrets). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = Object.freeze({ ...details });
  }
}

export class ConfigError extends GatehouseError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('GH_CONFIG_INVALID', message, details, options);
  }
}

export class PermissionSyntaxError extends GatehouseError {
  /** The permission string as written. */
  readonly permission: string;
  constructor(permission: string, problem: string) {
    super('GH_PERMISSION_INVALID', `invalid permission ${JSON.stringify(permission)}: ${problem}`, { permission });
    this.permission = permission;
  }
}

/** A request body that is not a valid review; the HTTP layer answers 400 with the message. */
export class ReviewError extends GatehouseError {
  readonly status: number;
  constructor(message: string, status = 400, code: ErrorCode = 'GH_REVIEW_INVALID') {
    super(code, message);
    this.status = status;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A console request refused before or instead of reaching the API server, with its HTTP status. */
export class ConsoleError extends GatehouseError {
  readonly status: number;
  constructor(code: Extract<ErrorCode, `GH_CONSOLE_${string}`>, status: number, message: string) {
    super(code, message);
    this.status = status;
  }
}
