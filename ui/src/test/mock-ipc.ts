// Component tests replace every command wrapper of lib/ipc.ts with a mock
// (the pure helpers stay real):
//   vi.mock('../lib/ipc', async (original) => (await import('../test/mock-ipc')).mockIpc(await original()));
import { vi } from 'vitest';

const PURE = new Set(['describeError', 'isIpcError', 'isIpcErrorCode', 'toIpcError']);

export function mockIpc<T extends object>(real: T): T {
  const out: Record<string, unknown> = { ...(real as Record<string, unknown>) };
  for (const [name, value] of Object.entries(real)) {
    if (typeof value !== 'function' || PURE.has(name)) continue;
    out[name] = vi.fn(() => Promise.reject({ code: 'failure', message: `${name} is not mocked in this test` }));
  }
  out['onSyncProgress'] = vi.fn(() => Promise.resolve(() => {}));
  out['onRotationProgress'] = vi.fn(() => Promise.resolve(() => {}));
  out['onVaultLocked'] = vi.fn(() => Promise.resolve(() => {}));
  return out as T;
}
