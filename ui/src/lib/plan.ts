// A sync plan as a readable diff: items grouped by state, most urgent first.

import type { PlanItem, SyncProgress, SyncReport, SyncState } from './ipc';
import { plural } from './format';

export type PlanGroup = { state: SyncState; title: string; hint: string; items: PlanItem[] };

const GROUPS: { state: SyncState; title: string; hint: string }[] = [
  { state: 'conflict', title: 'Conflicts', hint: 'Changed on both sides; choose which to keep.' },
  { state: 'error', title: 'Could not be read', hint: 'Left alone by this sync.' },
  { state: 'new_remote', title: 'New on the remote', hint: 'A pull adds them here.' },
  { state: 'changed_remote', title: 'Changed on the remote', hint: 'A pull updates them here.' },
  { state: 'deleted_remote', title: 'Deleted on the remote', hint: 'A pull with pruning deletes them here.' },
  { state: 'new_local', title: 'New here', hint: 'A push adds them to the remote.' },
  { state: 'changed_local', title: 'Changed here', hint: 'A push updates them on the remote.' },
  { state: 'deleted_local', title: 'Deleted here', hint: 'A push with pruning deletes them on the remote.' },
  { state: 'in_sync', title: 'In sync', hint: 'Nothing to do.' },
];

/** Non-empty groups in a fixed order, items sorted by name within each. */
export function groupPlan(items: readonly PlanItem[]): PlanGroup[] {
  const groups: PlanGroup[] = [];
  for (const group of GROUPS) {
    const members = items.filter((item) => item.state === group.state);
    if (members.length === 0) continue;
    members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    groups.push({ ...group, items: members });
  }
  // A state this build does not know still shows, last.
  const known = new Set(GROUPS.map((group) => group.state));
  const others = items.filter((item) => !known.has(item.state));
  if (others.length > 0) groups.push({ state: 'error', title: 'Other', hint: '', items: others });
  return groups;
}

export type PlanCounts = { pull: number; push: number; conflicts: number; errors: number; inSync: number; prune: number };

export function planCounts(items: readonly PlanItem[]): PlanCounts {
  const counts: PlanCounts = { pull: 0, push: 0, conflicts: 0, errors: 0, inSync: 0, prune: 0 };
  for (const item of items) {
    switch (item.state) {
      case 'new_remote':
      case 'changed_remote':
        counts.pull += 1;
        break;
      case 'new_local':
      case 'changed_local':
        counts.push += 1;
        break;
      case 'deleted_remote':
      case 'deleted_local':
        counts.prune += 1;
        break;
      case 'conflict':
        counts.conflicts += 1;
        break;
      case 'error':
        counts.errors += 1;
        break;
      case 'in_sync':
        counts.inSync += 1;
        break;
    }
  }
  return counts;
}

/** "2 to pull, 3 to push, 1 conflict, 5 in sync" ("Everything is in sync" / "Nothing on either side"). */
export function planSummary(items: readonly PlanItem[]): string {
  if (items.length === 0) return 'Nothing on either side yet.';
  const c = planCounts(items);
  const parts: string[] = [];
  if (c.pull > 0) parts.push(`${c.pull.toLocaleString('en-US')} to pull`);
  if (c.push > 0) parts.push(`${c.push.toLocaleString('en-US')} to push`);
  if (c.prune > 0) parts.push(`${c.prune.toLocaleString('en-US')} deleted on one side`);
  if (c.conflicts > 0) parts.push(plural(c.conflicts, 'conflict'));
  if (c.errors > 0) parts.push(plural(c.errors, 'error'));
  if (parts.length === 0) return `Everything is in sync (${plural(c.inSync, 'credential')}).`;
  if (c.inSync > 0) parts.push(`${c.inSync.toLocaleString('en-US')} in sync`);
  return `${parts.join(', ')}.`;
}

/** "pulled 2, pushed 3, 5 in sync, 1 conflict, 0 failed". */
export function reportSummary(report: SyncReport): string {
  return [
    `pulled ${report.pulled.toLocaleString('en-US')}`,
    `pushed ${report.pushed.toLocaleString('en-US')}`,
    `${report.inSync.toLocaleString('en-US')} in sync`,
    plural(report.conflicts, 'conflict'),
    `${report.failed.toLocaleString('en-US')} failed`,
  ].join(', ');
}

/** Percent done (0–100) of a sync-progress event; 0 when the total is unknown. */
export function progressPercent(progress: SyncProgress | null): number {
  if (progress === null || progress.total <= 0) return 0;
  return Math.min(100, Math.max(0, Math.round((progress.done / progress.total) * 100)));
}
