// Flag value parsers that throw dynaprune's typed errors, so the CLI and the library report bad input alike.
import { InvalidArgumentError, UnknownNameError } from '../errors.js';

export function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError(`${flag} expects a positive integer, got "${value}".`);
  }
  return n;
}

export function nonNegativeInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`${flag} expects a non-negative integer, got "${value}".`);
  }
  return n;
}

export function positiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`${flag} expects a positive number, got "${value}".`);
  }
  return n;
}

/** A sparsity: the fraction of zeros, in [0, 1). */
export function sparsity(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) {
    throw new InvalidArgumentError(
      `${flag} expects a sparsity (fraction of zeros) in [0, 1), got "${value}". For 90% zeros use 0.9.`,
    );
  }
  return n;
}

/** One of `choices`, matched without regard to case (`CIFAR10`, `Paper-CNN`); else an error with a suggestion. */
export function oneOf<T extends string>(kind: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  const match = choices.find((c) => c.toLowerCase() === value.toLowerCase());
  if (match !== undefined) return match;
  throw new UnknownNameError(kind, value, choices);
}

/** A fraction in (0, 1). */
export function fraction(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n >= 1) {
    throw new InvalidArgumentError(`${flag} expects a fraction in (0, 1), got "${value}".`);
  }
  return n;
}

export function nonNegativeNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError(`${flag} expects a number >= 0, got "${value}".`);
  }
  return n;
}

/** A positive number no larger than `max`; `why` says what the ceiling protects. */
export function boundedNumber(flag: string, value: string, max: number, why: string): number {
  const n = positiveNumber(flag, value);
  if (n > max) {
    throw new InvalidArgumentError(`${flag} expects at most ${max}, got "${value}": ${why}`);
  }
  return n;
}
