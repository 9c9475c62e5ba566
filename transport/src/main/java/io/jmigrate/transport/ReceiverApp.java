package io.jmigrate.transport;

/** What a {@link TransportServer} does with what it receives: the page server implements it. */
public interface ReceiverApp {
    /** A new round from {@code peer}; throw a {@link TransportException} to refuse it (the reason goes to the sender). */
    RoundSink openRound(String round, String peer, int streamCount);

    /** Pages of committed round {@code round}, for lazy-page requests; throw to refuse. */
    ServedPages openPages(String round);

    /** A line for the server's log (refusals, rounds begun, committed, discarded). */
    default void log(String line) {}
}
