// Which font families the pages ask for. WebKitGTK asks fontconfig about
// each family of a list in turn, for every size and weight a page uses,
// until one is installed. The cross-platform list in app.css (system-ui,
// -apple-system, 'Segoe UI', …) is mostly misses on Linux, and those
// misses cost the first unlocked screen about 150 ms of its start
// (docs/BENCHMARKS.md, "Fonts"). On Linux the generic families are the
// desktop's own choice (fontconfig's sans-serif and monospace), so there
// the pages ask for those alone.

/** Whether `userAgent` is a Linux desktop's web view (WebKitGTK). */
export function isLinuxDesktop(userAgent: string): boolean {
  return /\bLinux\b/.test(userAgent) && !/\bAndroid\b/.test(userAgent);
}

/** Before the first paint: the generic families on Linux (app.css, `data-fonts`). */
export function chooseFonts(root: HTMLElement = document.documentElement): void {
  if (isLinuxDesktop(globalThis.navigator?.userAgent ?? '')) root.dataset['fonts'] = 'generic';
}
