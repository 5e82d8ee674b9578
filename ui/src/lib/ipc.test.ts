import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  credentialGet,
  describeError,
  IPC_ERROR_CODES,
  isIpcError,
  onRotationProgress,
  onSyncProgress,
  toIpcError,
  vaultStatus,
  whenLocked,
  type IpcError,
} from './ipc';

describe('isIpcError', () => {
  it('accepts every known code with a string message', () => {
    for (const code of IPC_ERROR_CODES) {
      expect(isIpcError({ code, message: 'x' })).toBe(true);
    }
  });

  it('rejects unknown codes, missing messages and non-objects', () => {
    expect(isIpcError({ code: 'exploded', message: 'x' })).toBe(false);
    expect(isIpcError({ code: 'failure' })).toBe(false);
    expect(isIpcError({ code: 'failure', message: 42 })).toBe(false);
    expect(isIpcError('failure')).toBe(false);
    expect(isIpcError(null)).toBe(false);
    expect(isIpcError(undefined)).toBe(false);
  });
});

describe('describeError', () => {
  it('opens with a sentence for the code and adds the shell message', () => {
    const error: IpcError = { code: 'cannot_unlock', message: 'no key for this vault in the OS keyring' };
    expect(describeError(error)).toBe(
      'Coffer could not unlock the vault: no key for this vault in the OS keyring.',
    );
  });

  it('keeps punctuation the shell already put there', () => {
    expect(describeError({ code: 'failure', message: 'Disk full!' })).toBe(
      'Coffer ran into a problem: Disk full!',
    );
  });

  it('gives a full sentence for every code even without a message', () => {
    for (const code of IPC_ERROR_CODES) {
      const sentence = describeError({ code, message: '' });
      expect(sentence).toMatch(/^[A-Z].*\.$/);
      expect(sentence).not.toContain(':');
    }
    expect(describeError({ code: 'integrity', message: '  ' })).toBe(
      'The vault file failed its integrity check and was not opened.',
    );
  });

  it('gives each code its own opening', () => {
    const sentences = new Set(IPC_ERROR_CODES.map((code) => describeError({ code, message: '' })));
    expect(sentences.size).toBe(IPC_ERROR_CODES.length);
  });

  it('collapses whitespace and caps very long messages', () => {
    expect(describeError({ code: 'conflict', message: 'two\n  lines' })).toBe(
      'That change conflicts with the current state of the vault: two lines.',
    );
    const long = describeError({ code: 'failure', message: 'x'.repeat(5000) });
    expect(long.length).toBeLessThan(400);
    expect(long.endsWith('…')).toBe(true);
  });

  it('uses the message of an Error', () => {
    expect(describeError(new TypeError('window.__TAURI_INTERNALS__ is undefined'))).toBe(
      'window.__TAURI_INTERNALS__ is undefined.',
    );
  });

  it('uses a plain string as is', () => {
    expect(describeError('the vault is busy')).toBe('the vault is busy.');
  });

  it('uses the message of an object with an unknown code', () => {
    expect(describeError({ code: 'new_code', message: 'Something new happened.' })).toBe(
      'Something new happened.',
    );
  });

  it('never dumps raw objects or empty text', () => {
    for (const value of [{}, { code: 'failure' }, [1, 2], 42, null, undefined, '', '   ', new Error('')]) {
      const sentence = describeError(value);
      expect(sentence).toBe('Something went wrong, and Coffer was given no explanation.');
      expect(sentence).not.toContain('[object');
      expect(sentence).not.toContain('{');
    }
  });
});

describe('toIpcError', () => {
  it('passes IpcErrors through unchanged', () => {
    const error: IpcError = { code: 'not_found', message: 'gone' };
    expect(toIpcError(error)).toBe(error);
  });

  it('wraps anything else as a failure', () => {
    expect(toIpcError(new Error('boom'))).toEqual({ code: 'failure', message: 'boom' });
    expect(toIpcError(7)).toEqual({ code: 'failure', message: '' });
  });
});

describe('outside the desktop app', () => {
  it('rejects with an IpcError instead of a TypeError', async () => {
    const rejection = await vaultStatus().catch((caught: unknown) => caught);
    expect(isIpcError(rejection)).toBe(true);
    expect(describeError(rejection)).toBe(
      'Coffer ran into a problem: this window is not running inside the Coffer desktop app.',
    );
  });
});

describe('event subscriptions', () => {
  it('are a no-op outside the desktop app', async () => {
    const stop = await onSyncProgress(() => {});
    expect(typeof stop).toBe('function');
    stop();
    const stopRotation = await onRotationProgress(() => {});
    stopRotation();
  });
});

describe('a locked vault', () => {
  /** Inside the app (as Tauri's own page sets it up), with the shell rejecting every command with `error`. */
  function shellRejects(error: unknown): void {
    vi.stubGlobal('window', { __TAURI_INTERNALS__: { invoke: () => Promise.reject(error) } });
  }

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('runs the whenLocked handler before the caller sees the error', async () => {
    const seen: string[] = [];
    const stop = whenLocked(() => seen.push('handler'));
    shellRejects({ code: 'locked', message: 'the vault is locked' });
    const rejection = await credentialGet('api/github').catch((caught: unknown) => {
      seen.push('caller');
      return caught;
    });
    stop();
    expect(seen).toEqual(['handler', 'caller']);
    expect(rejection).toEqual({ code: 'locked', message: 'the vault is locked' });
  });

  it('runs no handler for other codes, nor once it is stopped', async () => {
    const handler = vi.fn();
    const stop = whenLocked(handler);
    for (const code of IPC_ERROR_CODES.filter((c) => c !== 'locked')) {
      shellRejects({ code, message: 'no' });
      await expect(credentialGet('api/github')).rejects.toEqual({ code, message: 'no' });
    }
    shellRejects(new Error('locked'));
    await expect(credentialGet('api/github')).rejects.toEqual({ code: 'failure', message: 'locked' });
    expect(handler).not.toHaveBeenCalled();
    stop();
    shellRejects({ code: 'locked', message: '' });
    await expect(credentialGet('api/github')).rejects.toMatchObject({ code: 'locked' });
    expect(handler).not.toHaveBeenCalled();
  });
});
