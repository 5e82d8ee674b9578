// Fresh app state between component tests (the stores are module singletons).
import { confirmation } from '../lib/confirm.svelte';
import { notices } from '../lib/notices.svelte';
import { session } from '../lib/session.svelte';

export function resetStores(): void {
  session.reset();
  notices.dismiss();
  confirmation.answer(false);
}
