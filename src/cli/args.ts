// Command-line arguments and paths, checked before any expensive work: every problem is one
// InputError line naming the argument (--flag) or the file, with what was expected.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { constants } from 'node:fs';
import { access, open, stat, unlink } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { InputError } from '../core/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs, strict, with two fixes for users: a negative number after an option that
 * takes a value is that value (`--max-new-tokens -1` is then refused by the range check, not
 * called "ambiguous"), and a parse error's message is one line.
 */
export function parseCommandArgs<O extends Options, P extends boolean = false>(
  argv: readonly string[], options: O, allowPositionals?: P,
): ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: P }>> {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!, next = argv[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else {
      args.push(a);
    }
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: (allowPositionals ?? false) as P });
  } catch (e) {
    const code = (e as { code?: string }).code;
    // Kept as parseArgs' own error (main.ts prints it and exits 2), in one line.
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) (e as Error).message = `${(e as Error).message.split('\n')[0]} (--help lists the options)`;
    throw e;
  }
}

/** An integer argument in [min, max]; `what` says what it counts, for the message. */
export function intArg(flag: string, value: string, min: number, max: number, what = ''): number {
  const v = value.trim() === '' ? NaN : Number(value);
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new InputError(`--${flag} ${value}: expected a whole number from ${min} to ${max}${what ? ` (${what})` : ''}`);
  }
  return v;
}

/** A file the command reads: it exists, is a regular file, is readable and not empty. */
export async function inputFile(flag: string, path: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
    await access(path, constants.R_OK);
  } catch (e) {
    throw new InputError(`--${flag} ${path}: ${why(e)}`, { cause: e });
  }
  if (!st.isFile()) throw new InputError(`--${flag} ${path}: ${st.isDirectory() ? 'a folder' : 'not a regular file'}, a file is needed`);
  if (st.size === 0) throw new InputError(`--${flag} ${path}: the file is empty`);
}

/**
 * A file the command will write: its extension is one of `exts` (when given), it is not
 * a folder, and its folder exists and takes a new file (tried: a probe file is created and removed).
 */
export async function outputFile(flag: string, path: string, exts?: readonly string[]): Promise<void> {
  const ext = extname(path).toLowerCase();
  if (exts && !exts.includes(ext)) throw new InputError(`--${flag} ${path}: the file must end in ${exts.join(' or ')}`);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new InputError(`--${flag} ${path}: a folder; give a file name`);
  const dir = dirname(resolve(path));
  const d = await stat(dir).catch(() => undefined);
  if (!d?.isDirectory()) throw new InputError(`--${flag} ${path}: the folder ${dir} does not exist`);
  const probe = `${path}.tmp-${process.pid}`;
  try {
    await (await open(probe, 'wx')).close();
    await unlink(probe);
  } catch (e) {
    throw new InputError(`--${flag} ${path}: cannot write there (${why(e)})`, { cause: e });
  }
}

/** A short reason for a failed file operation. */
export function why(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const plain: Record<string, string> = {
    ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'operation not permitted', EISDIR: 'a folder',
    ENOTDIR: 'a path component is not a folder', EROFS: 'read-only file system', ENOSPC: 'no space left on the device',
    EEXIST: 'already exists',
  };
  return (code && plain[code]) ?? code ?? (e as Error).message;
}
