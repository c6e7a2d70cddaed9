// The evaluation loop: answers every job not yet in the results file, appending one JSON line per
// item as soon as it is answered (ResultsWriter), so that an interrupted run resumes where it
// stopped and no item is counted twice.
import type { AnswerResult, Assistant } from './assistant.js';
import type { EvalJob } from './eval_jobs.js';
import type { ResultLine, ResultsWriter } from './results.js';

/** What the loop needs of an answer; AnswerResult is one. */
export type ItemAnswer = Pick<AnswerResult, 'text' | 'ids'> & Partial<Pick<AnswerResult, 'stopped' | 'grounding' | 'promptTokens' | 'timings'>>;
export type Answerer = (job: EvalJob) => Promise<ItemAnswer>;

export interface LoopHooks {
  /** After each answered item: its line, how many were answered in this run, and how many are pending. */
  onItem?: (line: ResultLine, done: number, total: number) => void;
}

/** Answers every job whose id is not in the results file yet, appending one line each. */
export async function runEvalLoop(jobs: readonly EvalJob[], writer: ResultsWriter, answer: Answerer, hooks: LoopHooks = {}): Promise<{ answered: number; skipped: number }> {
  const pending = writer.pending(jobs);
  let answered = 0;
  for (const job of pending) {
    const t0 = performance.now();
    const a = await answer(job);
    const totalMs = performance.now() - t0;
    const line: ResultLine = {
      id: job.id, task: job.task, question: job.question, answer_text: a.text, answer_ids: a.ids,
      ...(a.stopped !== undefined ? { stopped: a.stopped } : {}),
      ...(a.promptTokens !== undefined ? { prompt_tokens: a.promptTokens } : {}),
      ...(a.grounding !== undefined ? { grounding: a.grounding } : {}),
      scores: job.score(a.text),
      timings: { ...(a.timings ?? {}), totalMs },
      ...job.extra,
    };
    if (writer.append(line)) answered++;
    hooks.onItem?.(line, answered, pending.length);
  }
  return { answered, skipped: jobs.length - pending.length };
}

/** An assistant answering each job's question about its media, checked against its task. */
export function assistantAnswerer(assistant: Assistant, maxNewTokens: number): Answerer {
  return (job) => assistant.ask({ media: job.media, question: job.question, task: job.task, maxNewTokens });
}
