package io.jmigrate.engine.image;

/**
 * An image directory or file that cannot be used, or an I/O failure reading or writing one. The message is one
 * line naming the directory or file and what is wrong with it, fit to show a person as is.
 */
public class ImageException extends RuntimeException {
    public ImageException(String message) {
        super(message);
    }

    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
