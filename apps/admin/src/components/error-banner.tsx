import { ApiError } from '../api';

interface Props {
  error: unknown;
  /** Refetches the view (offered on 412, and on any error when given). */
  onReload?: () => void;
  onDismiss?: () => void;
}

/** What went wrong, in words: 412 and 401 get their own wording, anything else its message. */
function describe(error: unknown): { title: string; text: string } {
  if (error instanceof ApiError) {
    if (error.status === 412) {
      return {
        title: 'Changed by someone else',
        text: 'This changed since you loaded it. Reload to see the current state, then try again.',
      };
    }
    if (error.status === 401) {
      return {
        title: 'API key missing or wrong',
        text: `Writes need a valid API key: enter it under “API key” above. (${error.message})`,
      };
    }
    return { title: `Error ${error.status || ''} ${error.code}`.trim(), text: error.message };
  }
  return { title: 'Error', text: error instanceof Error ? error.message : String(error) };
}

/** An error, announced to screen readers, with Reload and Dismiss where they make sense. */
export function ErrorBanner({ error, onReload, onDismiss }: Props) {
  const { title, text } = describe(error);
  const stale = error instanceof ApiError && error.status === 412;
  return (
    <div class="banner banner-error" role="alert">
      <strong>{title}</strong>
      <p>{text}</p>
      <div class="actions">
        {onReload && (
          <button type="button" class={stale ? 'primary' : ''} onClick={onReload}>
            Reload
          </button>
        )}
        {onDismiss && (
          <button type="button" onClick={onDismiss}>
            Dismiss
          </button>
        )}
      </div>
    </div>
  );
}
