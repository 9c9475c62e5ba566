/**
 * Readers of {@code /proc/PID/*}.
 *
 * <p>Every file format has a pure parser over text or bytes ({@link io.jmigrate.engine.proc.Maps},
 * {@link io.jmigrate.engine.proc.Smaps}, {@link io.jmigrate.engine.proc.ProcStatus}, ...) so it can be tested on
 * recorded samples, and {@link io.jmigrate.engine.proc.ProcFs} reads the files of a live process (or of a recorded
 * directory laid out like {@code /proc}). Nothing here calls into native code: the files are plain reads.
 *
 * <p>Parsers throw {@link io.jmigrate.engine.proc.ProcFormatException} on text they do not understand rather than
 * guessing, because a misread mapping or signal mask silently corrupts a checkpoint.
 */
package io.jmigrate.engine.proc;
