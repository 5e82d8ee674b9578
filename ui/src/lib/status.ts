// Pure mapping from the shell's VaultStatus to what the first screen shows.
// No DOM, no Tauri: everything here is unit-tested.

import type { VaultStatus } from './ipc';

export type VaultActionKind = 'lock' | 'unlock';

export type VaultAction = {
  kind: VaultActionKind;
  /** Visible text and accessible name of the button. */
  label: string;
};

export type StatusView = {
  heading: string;
  /** One line of detail. Text between backticks is a command (see `splitCode`). */
  detail: string;
  /** The one action the screen offers, or null when there is nothing to do. */
  action: VaultAction | null;
};

export const LOCK_ACTION: VaultAction = { kind: 'lock', label: 'Lock vault' };
export const UNLOCK_ACTION: VaultAction = { kind: 'unlock', label: 'Unlock vault' };

export const MISSING_DETAIL = 'Create one with `coffer init`, then reopen Coffer.';

/** "1 credential", "12 credentials", "1,024 credentials". */
export function credentialCountText(count: number): string {
  const noun = count === 1 ? 'credential' : 'credentials';
  return `${count.toLocaleString('en-US')} ${noun}`;
}

function where(path: string): string {
  const trimmed = path.trim();
  return trimmed === '' ? 'the vault' : trimmed;
}

function unlockedDetail(status: VaultStatus): string {
  const count = status.credentialCount;
  if (count === null || !Number.isFinite(count) || count < 0) {
    return `Open at ${where(status.path)}`;
  }
  return `${credentialCountText(count)} in ${where(status.path)}`;
}

function lockedDetail(status: VaultStatus): string {
  const message = status.message?.trim() ?? '';
  if (message !== '') return message;
  return `Unlock it to open ${where(status.path)}.`;
}

export function describeStatus(status: VaultStatus): StatusView {
  switch (status.state) {
    case 'unlocked':
      return { heading: 'Vault unlocked', detail: unlockedDetail(status), action: LOCK_ACTION };
    case 'locked':
      return { heading: 'Vault locked', detail: lockedDetail(status), action: UNLOCK_ACTION };
    case 'missing':
      return { heading: 'No vault yet', detail: MISSING_DETAIL, action: null };
    default: {
      // The shell sent a state this build does not know: say so, offer nothing.
      const unknown: never = status.state;
      return {
        heading: 'Vault state unknown',
        detail: `Coffer reported a state it does not recognise (${String(unknown)}).`,
        action: null,
      };
    }
  }
}

export type TextPart = { text: string; code: boolean };

/**
 * Split a detail line on backticks so commands can be shown as code:
 * "Run `coffer init` now" → [{text:"Run ",code:false},{text:"coffer init",code:true},{text:" now",code:false}].
 * An unpaired backtick is kept as plain text.
 */
export function splitCode(line: string): TextPart[] {
  const parts: TextPart[] = [];
  const pattern = /`([^`]+)`/g;
  let last = 0;
  for (const match of line.matchAll(pattern)) {
    const start = match.index;
    if (start > last) parts.push({ text: line.slice(last, start), code: false });
    parts.push({ text: match[1] ?? '', code: true });
    last = start + match[0].length;
  }
  if (last < line.length) parts.push({ text: line.slice(last), code: false });
  return parts;
}
