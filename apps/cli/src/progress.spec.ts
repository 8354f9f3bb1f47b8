import { type ProgressStream, withProgress } from './progress';
// eslint-disable-next-line no-control-regex
const ERASE = /\r\u001b\[2K/.source;

function stream(isTTY: boolean): ProgressStream & { text: string } {
  return {
    isTTY,
    text: '',
    write(chunk: string) {
      this.text += chunk;
      return true;
    },
  };
}

const after = (ms: number, value: string) =>
  new Promise<string>((resolve) => setTimeout(() => resolve(value), ms));

describe('withProgress', () => {
  it('draws nothing for quick work, nor on a stream that is not a TTY', async () => {
    const tty = stream(true);
    expect(await withProgress('quick', () => after(10, 'done'), { stream: tty })).toBe('done');
    expect(tty.text).toBe('');
    const pipe = stream(false);
    await withProgress('slow', () => after(450, 'done'), { stream: pipe });
    expect(pipe.text).toBe('');
  });

  it('draws a spinner with the elapsed time past 300 ms, then erases it', async () => {
    const tty = stream(true);
    await withProgress('importing', () => after(550, 'done'), { stream: tty });
    expect(tty.text).toMatch(new RegExp(`^${ERASE}. importing 0\\.\\ds`));
    expect(tty.text.endsWith('\r\u001b[2K')).toBe(true);
  });

  it('erases the line when the work fails, and draws at once when immediate', async () => {
    const tty = stream(true);
    const failing = withProgress('opening', () => Promise.reject(new Error('no')), {
      stream: tty,
      immediate: true,
    });
    await expect(failing).rejects.toThrow('no');
    expect(tty.text).toMatch(new RegExp(`^${ERASE}. opening 0\\.0s${ERASE}$`));
  });
});
