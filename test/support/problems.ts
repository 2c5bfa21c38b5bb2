/** Test helper: the problems a ValidationError lists, as `where: message` lines. */
import { ValidationError } from '../../services/platform/errors.ts';

/**
 * Runs `fn` and returns the `where: message` lines of the ValidationError it throws.
 * @throws the error itself when it is not a ValidationError, or an Error when nothing is thrown.
 */
export function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.problems.map((p) => `${p.where}: ${p.message}`);
    throw e;
  }
  throw new Error('expected a ValidationError');
}
