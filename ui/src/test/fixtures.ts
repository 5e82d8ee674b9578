// Builders for the DTOs of lib/ipc.ts, for component tests.
import type {
  CredentialDetail,
  CredentialSummary,
  Facets,
  FindPage,
  FindQuery,
  KindSchema,
  RotationState,
  Settings,
  VaultStatus,
} from '../lib/ipc';

export function status(over: Partial<VaultStatus> = {}): VaultStatus {
  return {
    state: 'unlocked',
    path: '/home/dev/.local/share/coffer/vault.sqlite',
    message: null,
    lockedBefore: false,
    hasKeyring: true,
    hasPassphrase: true,
    passphraseRequired: false,
    failedAttempts: 0,
    failedSince: null,
    autoLockMinutes: 10,
    clipboardSeconds: 30,
    ...over,
  };
}

export function settings(over: Partial<Settings> = {}): Settings {
  return {
    autoLockMinutes: 10,
    clipboardSeconds: 30,
    revealSeconds: 20,
    notifications: true,
    passphraseAfterAutoLock: true,
    closeToTray: true,
    quickSearchShortcut: '',
    policies: [],
    hasPassphrase: true,
    hasKeyring: true,
    ...over,
  };
}

export function summary(name: string, state: RotationState = 'ok', over: Partial<CredentialSummary> = {}): CredentialSummary {
  return {
    id: `id-${name}`,
    name,
    kind: 'api-key',
    env: 'prod',
    tags: ['ci'],
    version: 1,
    updatedAt: '2025-01-02T03:04:05Z',
    rotation: {
      state,
      since: '2025-01-01T00:00:00Z',
      ageDays: 10,
      due: '2025-04-01T00:00:00Z',
      daysLeft: 80,
      maxAgeDays: 90,
      warnDays: 14,
      policySource: 'kind default',
    },
    ...over,
  };
}

export const FACETS: Facets = { kinds: ['api-key', 'db-password'], envs: ['dev', 'prod'], tags: ['ci'], needsAction: 0, dueSoon: 0 };

/** A find that serves `total` generated names ("cred/00000", …) by offset. */
export function pageOf(total: number, query: FindQuery, make: (i: number) => CredentialSummary = (i) => summary(`cred/${String(i).padStart(5, '0')}`)): FindPage {
  const items: CredentialSummary[] = [];
  for (let i = query.offset; i < Math.min(total, query.offset + query.limit); i += 1) items.push(make(i));
  return { total, items, facets: FACETS, folders: [] };
}

export function detail(name: string, over: Partial<CredentialDetail> = {}): CredentialDetail {
  return {
    ...summary(name),
    notes: 'Used by CI.',
    fields: [{ name: 'url', label: 'URL', value: 'https://api.example.com' }],
    secretFields: [{ name: 'key', label: 'Key' }],
    createdAt: '2025-01-01T00:00:00Z',
    expiresAt: null,
    rotatedAt: null,
    compromisedAt: null,
    policy: null,
    remotes: [],
    rotationRun: null,
    arrived: null,
    session: null,
    chain: [],
    chainProblem: null,
    ...over,
  };
}

export const API_KEY_SCHEMA: KindSchema = {
  kind: 'api-key',
  label: 'API key',
  defaultMaxAgeDays: 90,
  fields: [
    { name: 'key', label: 'Key', secret: true, required: true, format: 'text' },
    { name: 'key_id', label: 'Key id', secret: false, required: false, format: 'text' },
    { name: 'url', label: 'URL', secret: false, required: false, format: 'url' },
  ],
};

export const DB_SCHEMA: KindSchema = {
  kind: 'db-password',
  label: 'Database password',
  defaultMaxAgeDays: 30,
  fields: [
    { name: 'host', label: 'Host', secret: false, required: true, format: 'text' },
    { name: 'port', label: 'Port', secret: false, required: false, format: 'port' },
    { name: 'user', label: 'User', secret: false, required: true, format: 'text' },
    { name: 'password', label: 'Password', secret: true, required: true, format: 'text' },
  ],
};
