// The terminal client's screen: a readline prompt that incoming lines never garble, or plain lines when piped.

import { clearScreenDown, createInterface, type Interface, moveCursor } from "node:readline";
import { LineKind, paint } from "./lines.ts";

const PROMPT = "> ";

/** Input lines in, coloured lines out. On a TTY the prompt and the half-typed line survive every incoming line. */
export class Screen {
  private readonly rl: Interface;
  private readonly queue: string[] = [];
  private waiter: ((line: string | undefined) => void) | undefined;
  private ended = false;
  private prompt = PROMPT;
  private interrupt: () => void = () => {};

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WriteStream,
    /** Both ends are a terminal: prompt, redraw, erase typed lines. */
    readonly tty: boolean,
    private readonly colour: boolean,
  ) {
    this.rl = createInterface({ input, output: tty ? output : undefined, terminal: tty, prompt: PROMPT });
    this.rl.on("line", (line) => {
      if (tty) this.eraseTyped(line);
      this.push(line);
    });
    this.rl.on("close", () => {
      this.ended = true;
      this.wake(undefined);
    });
    // On a terminal readline turns Ctrl+C into this event; piped, it is a real signal.
    this.rl.on("SIGINT", () => this.interrupt());
    if (!tty) process.on("SIGINT", () => this.interrupt());
    process.on("SIGTERM", () => this.interrupt());
  }

  /** Called on Ctrl+C (and SIGTERM). */
  onInterrupt(listener: () => void): void {
    this.interrupt = listener;
  }

  /** The next input line; undefined once input has ended (Ctrl+D, end of a pipe). */
  nextLine(prompt = PROMPT): Promise<string | undefined> {
    const line = this.queue.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(undefined);
    if (this.tty) {
      this.prompt = prompt;
      this.rl.setPrompt(prompt);
      this.rl.prompt(true);
    }
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Prints a line of `kind` above the prompt. */
  show(kind: LineKind, text: string): void {
    const painted = paint(kind, text, this.colour);
    if (!this.tty) {
      this.output.write(`${painted}\n`);
      return;
    }
    // Back to where the prompt starts, clear it and anything the typed line wrapped onto, print, redraw.
    const { rows, cols } = this.rl.getCursorPos();
    moveCursor(this.output, -cols, -rows);
    clearScreenDown(this.output);
    this.output.write(`${painted}\n`);
    // Redraw only while input is awaited: during the join no prompt should flash up.
    if (!this.ended && this.waiter !== undefined) this.rl.prompt(true);
  }

  /** An error of the client's own, on stderr so that a script reading stdout sees only the chat. */
  error(text: string): void {
    if (this.tty && this.output === process.stdout) this.show(LineKind.local, text);
    else process.stderr.write(`${text}\n`);
  }

  /** A remark of the client's own (not from the relay). */
  note(text: string): void {
    this.show(LineKind.local, text);
  }

  /** Stops reading input; resolves once `output` has taken everything written. */
  async close(): Promise<void> {
    this.ended = true;
    this.rl.close();
    this.input.pause();
    await new Promise<void>((done) => this.output.write("", () => done()));
  }

  private push(line: string): void {
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter(line);
    } else this.queue.push(line);
  }

  private wake(line: string | undefined): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.(line);
  }

  // readline has echoed "> text" and a newline; the relay's echo will show the line, so take the typed copy away.
  private eraseTyped(line: string): void {
    const columns = this.output.columns || 80;
    const rows = Math.max(1, Math.ceil((this.prompt.length + line.length) / columns));
    moveCursor(this.output, 0, -rows);
    clearScreenDown(this.output);
  }
}
