// Words and numbers as the screens show them. Pure, so the tests pin them down.

import type { Kind, RotationFlow, RotationState, RotationStatus } from './ipc';

/** "1 credential", "12 credentials", "1,024 credentials". */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? singular : pluralForm}`;
}

export function credentialCountText(count: number): string {
  return plural(count, 'credential');
}

const KIND_LABELS: Record<Kind, string> = {
  'aws-access-key': 'AWS access key',
  'aws-role': 'AWS role',
  'vault-token': 'Vault token',
  'vault-approle': 'Vault AppRole',
  'vault-lease': 'Vault lease',
  'db-password': 'Database password',
  'api-key': 'API key',
  'gcp-service-account': 'GCP service account',
  'azure-service-principal': 'Azure service principal',
  'ssh-key': 'SSH key',
  'totp-seed': 'TOTP seed',
  generic: 'Generic',
};

export const KINDS = Object.keys(KIND_LABELS) as Kind[];

export function isKind(value: string): value is Kind {
  return (KINDS as string[]).includes(value);
}

export function kindLabel(kind: string): string {
  return isKind(kind) ? KIND_LABELS[kind] : kind;
}

const FLOW_LABELS: Record<RotationFlow, string> = {
  manual: 'Guided rotation',
  aws_iam: 'Automated AWS IAM rotation',
  postgres: 'Automated PostgreSQL rotation (set in the database)',
  vault_token: 'Automated Vault token rotation',
  vault_approle: 'Automated AppRole secret-id rotation',
};

/** How a rotation run is carried out, as the dashboard and wizard name it. */
export function flowLabel(flow: RotationFlow): string {
  return FLOW_LABELS[flow];
}

const ROTATION_LABELS: Record<RotationState, string> = {
  compromised: 'Compromised',
  expired: 'Expired',
  overdue: 'Overdue',
  due_soon: 'Due soon',
  ok: 'Up to date',
  no_policy: 'No policy',
};

export function rotationLabel(state: RotationState): string {
  return ROTATION_LABELS[state] ?? state;
}

/** States that earn a badge on a list row. */
export function hasBadge(state: RotationState): boolean {
  return state === 'due_soon' || state === 'overdue' || state === 'expired' || state === 'compromised';
}

function days(count: number): string {
  return plural(count, 'day');
}

/** One sentence about a credential's rotation status. */
export function rotationSentence(status: RotationStatus): string {
  const left = status.daysLeft;
  switch (status.state) {
    case 'compromised':
      return 'Marked compromised: rotate it now.';
    case 'expired':
      return 'Expired: rotate or replace it.';
    case 'overdue':
      return left === null ? 'Overdue for rotation.' : `Overdue by ${days(Math.abs(left))}.`;
    case 'due_soon':
      return left === null ? 'Due for rotation soon.' : left === 0 ? 'Due today.' : `Due in ${days(left)}.`;
    case 'ok':
      return left === null ? 'Up to date.' : `Up to date; due in ${days(left)}.`;
    case 'no_policy':
      return 'No rotation policy applies.';
  }
}

/** "2025-03-04 14:05" in local time; the input when it is not a date. */
export function formatDateTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** How long until `iso`, in words: "ends in 42 min", "ends in 3 h 5 min", "ended". */
export function timeLeftText(iso: string, now: number = Date.now()): string {
  const left = Math.floor((Date.parse(iso) - now) / 60_000);
  if (Number.isNaN(left) || left < 0) return 'ended';
  if (left < 60) return `ends in ${left} min`;
  return `ends in ${Math.floor(left / 60)} h ${left % 60} min`;
}

/** A countdown to `iso` to the second, for short leases: "3:07", "1:02:05", or null once past. */
export function countdownText(iso: string, now: number = Date.now()): string | null {
  const left = Math.floor((Date.parse(iso) - now) / 1000);
  if (Number.isNaN(left) || left < 0) return null;
  const pad = (n: number) => String(n).padStart(2, '0');
  const [h, m, sec] = [Math.floor(left / 3600), Math.floor(left / 60) % 60, left % 60];
  return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
}

/** The date part (YYYY-MM-DD, UTC) of an RFC 3339 time, for a date input. */
export function dateInputValue(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '';
  const match = /^(\d{4}-\d{2}-\d{2})/.exec(iso);
  return match?.[1] ?? '';
}

/** A date input's value as an RFC 3339 time (midnight UTC), or null when empty. */
export function dateToIso(date: string, endOfDay = false): string | null {
  const trimmed = date.trim();
  if (trimmed === '') return null;
  return `${trimmed}T${endOfDay ? '23:59:59' : '00:00:00'}Z`;
}

/** "2 failed unlock attempts since 2025-03-04 14:05." */
export function failedAttemptsText(count: number, since: string | null): string {
  const head = `${plural(count, 'failed unlock attempt')}`;
  const when = formatDateTime(since);
  return when === '' ? `${head} since the last unlock.` : `${head} since ${when}.`;
}

/** "api/github" stays, a long name is shortened in the middle for tight spaces. */
export function shorten(text: string, max = 60): string {
  if (text.length <= max) return text;
  const half = Math.floor((max - 1) / 2);
  return `${text.slice(0, half)}…${text.slice(text.length - half)}`;
}
