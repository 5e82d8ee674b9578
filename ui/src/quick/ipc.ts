// The quick-search window's door to the shell: search and copy only, which
// capabilities/quick.json grants to this window (the main window's module is
// ../lib/ipc.ts). Closing itself is Tauri's own window permission.

import { invoke } from '@tauri-apps/api/core';
import { getCurrentWindow } from '@tauri-apps/api/window';
import type { FindPage, FindQuery, KindSchema } from '../lib/contract';
import { toIpcError } from '../lib/ipc';

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toIpcError(error);
  }
}

export function kindSchemas(): Promise<KindSchema[]> {
  return call<KindSchema[]>('kind_schemas');
}

export function credentialFind(query: FindQuery): Promise<FindPage> {
  return call<FindPage>('credential_find', { query });
}

/** Copies a field with the app's clipboard rules; resolves with the seconds until it is cleared. */
export function credentialCopy(name: string, field: string): Promise<number> {
  return call<number>('credential_copy', { name, field });
}

export function closeWindow(): Promise<void> {
  return getCurrentWindow().close();
}
