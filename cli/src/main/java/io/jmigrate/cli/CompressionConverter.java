package io.jmigrate.cli;

import io.jmigrate.transport.Compression;
import picocli.CommandLine;

/** {@code --compress auto|always|never}, with the choices named when the value is none of them. */
final class CompressionConverter implements CommandLine.ITypeConverter<Compression> {
    @Override
    public Compression convert(String value) {
        try {
            return Compression.parse(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
