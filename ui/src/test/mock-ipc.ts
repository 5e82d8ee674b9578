// Component tests replace every command wrapper of lib/ipc.ts with a mock
// (the pure helpers and the `whenLocked` hook stay real):
//   vi.mock('../lib/ipc', async (original) => (await import('../test/mock-ipc')).mockIpc(await original()));
// A mocked command rejects the way `call()` does: through the real
// `rejection`, so `{ code: 'locked' }` runs the session's `whenLocked` handler.
import { vi } from 'vitest';
import type * as ipc from '../lib/ipc';

const REAL = new Set(['describeError', 'isIpcError', 'isIpcErrorCode', 'toIpcError', 'whenLocked', 'rejection']);
const EVENTS = ['onSyncProgress', 'onRotationProgress', 'onVaultLocked', 'onVaultUnlocked'];

/**
 * A `vi.fn` (tests set its answers: `mockResolvedValue`, `mockRejectedValue`, …)
 * behind a proxy that passes its rejections through `rejection`.
 */
function command(name: string, rejection: typeof ipc.rejection): unknown {
  const mock = vi.fn(() => Promise.reject({ code: 'failure', message: `${name} is not mocked in this test` }));
  return new Proxy(mock, {
    apply(target, self, args): unknown {
      const answer: unknown = Reflect.apply(target, self, args);
      if (!(answer instanceof Promise)) return answer;
      return answer.catch((error: unknown) => {
        throw rejection(error);
      });
    },
  });
}

export function mockIpc<T extends typeof ipc>(real: T): T {
  const out: Record<string, unknown> = { ...(real as Record<string, unknown>) };
  for (const [name, value] of Object.entries(real)) {
    if (typeof value !== 'function' || REAL.has(name) || EVENTS.includes(name)) continue;
    out[name] = command(name, real.rejection);
  }
  for (const name of EVENTS) out[name] = vi.fn(() => Promise.resolve(() => {}));
  return out as T;
}
