/** The data plane between hosts: TLS 1.3 with mutual authentication over Netty, page batches and control frames. */
package io.jmigrate.transport;
