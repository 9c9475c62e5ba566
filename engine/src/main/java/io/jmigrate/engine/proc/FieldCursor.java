package io.jmigrate.engine.proc;

/**
 * Walks a line of fixed-order fields without allocating substrings for the numbers. Each step consumes a field and
 * its delimiter; a missing delimiter or a malformed number becomes a {@link ProcFormatException} naming the line.
 */
final class FieldCursor {
    private final String file;
    private final String line;
    private int pos;

    FieldCursor(String file, String line) {
        this.file = file;
        this.line = line;
    }

    long hexUntil(char delimiter) {
        int end = delimiterIndex(delimiter);
        long value = parse(pos, end, 16);
        pos = end + 1;
        return value;
    }

    String tokenUntil(char delimiter) {
        int end = delimiterIndex(delimiter);
        String token = line.substring(pos, end);
        pos = end + 1;
        return token;
    }

    long decimalUntilSpaceOrEnd() {
        int end = line.indexOf(' ', pos);
        if (end < 0) end = line.length();
        long value = parse(pos, end, 10);
        pos = Math.min(end + 1, line.length());
        return value;
    }

    String restAfterSpaces() {
        while (pos < line.length() && line.charAt(pos) == ' ') pos++;
        return line.substring(pos);
    }

    private int delimiterIndex(char delimiter) {
        int end = line.indexOf(delimiter, pos);
        if (end < 0) throw new ProcFormatException(file, "expected '" + delimiter + "' after column " + pos, line);
        return end;
    }

    private long parse(int from, int to, int radix) {
        try {
            return Long.parseUnsignedLong(line, from, to, radix);
        } catch (NumberFormatException e) {
            throw new ProcFormatException(file, "bad number \"" + line.substring(from, to) + "\"", line, e);
        }
    }
}
