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

export function oneOf<T extends string>(kind: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
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
