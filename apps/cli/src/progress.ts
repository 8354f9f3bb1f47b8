/** A stream the progress line is drawn on (stderr). */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): boolean;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** An operation shorter than this shows nothing. */
export const PROGRESS_DELAY_MS = 300;
const FRAME_MS = 100;

/**
 * Runs `work`, and while it takes longer than {@link PROGRESS_DELAY_MS} draws a spinner with the
 * elapsed time on `stream` (stderr), erased when the work settles; `immediate` draws at once.
 * Draws nothing unless `stream` is a TTY, so piped or redirected output never carries it.
 */
export async function withProgress<T>(
  label: string,
  work: () => Promise<T>,
  options: { stream?: ProgressStream; immediate?: boolean } = {},
): Promise<T> {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY) return work();
  const started = Date.now();
  let frame = 0;
  let drawn = false;
  const draw = (): void => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    stream.write(`\r\u001b[2K${FRAMES[frame++ % FRAMES.length]} ${label} ${seconds}s`);
    drawn = true;
  };
  let interval: NodeJS.Timeout | undefined;
  const start = (): void => {
    draw();
    interval = setInterval(draw, FRAME_MS);
  };
  // Immediate: for work known to be long that blocks the event loop at first (loading modules).
  if (options.immediate) start();
  const delay = options.immediate ? undefined : setTimeout(start, PROGRESS_DELAY_MS);
  try {
    return await work();
  } finally {
    clearTimeout(delay);
    clearInterval(interval);
    if (drawn) stream.write('\r\u001b[2K');
  }
}
