package io.kmsgw.api.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * The limits of one listener's connections, shared by its verticle instances (one per event loop), so that slow or
 * idle clients cannot hold the gateway's descriptors and heap (issue #15):
 *
 * <ul>
 *   <li>idle: a connection with no traffic either way for {@code idleTimeoutMs} is closed (Vert.x's idle handler);
 *   <li>request deadline: a request's headers and body must have arrived within {@code requestTimeoutMs} of its
 *       first byte, and the first request within that time of the connection's opening, else the connection is
 *       closed. Vert.x has no such option (its idle timeout restarts at every byte, so a client sending a header
 *       byte a second would hold a connection for ever): two Netty handlers around the HTTP decoder start a timer
 *       at a request's first bytes and stop it when the decoder has produced the request's last content;
 *   <li>cap: at most {@code maxConnections} open at once; one more is answered 503 (which AWS SDKs retry) and
 *       closed at once. The count is taken when Vert.x hands the connection over, which is before a TLS
 *       handshake (the answer to a refused TLS connection goes out once its handshake is done); the handshake's
 *       own deadline is the request deadline too.
 * </ul>
 *
 * <p>HTTP/2 is off (no ALPN, no h2c): the deadline handlers read HTTP/1.x, and no KMS client needs HTTP/2.
 */
public final class ConnectionGuard {
  private static final Logger LOG = Logger.getLogger(ConnectionGuard.class.getName());
  private static final String DEADLINE_START = "kmsgw-request-deadline-start";
  private static final String DEADLINE_STOP = "kmsgw-request-deadline-stop";
  private static final String REFUSED = "kmsgw-refused";
  /** Drops what a refused connection sends, so no request of it reaches the router. */
  private static final ChannelInboundHandlerAdapter DISCARD = new Discard();
  /** Refusals and expired deadlines are logged at most this often, so a flood cannot flood the log too. */
  private static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final byte[] BUSY = busyResponse();
  /** Descriptors kept for the rest of the gateway when comparing the caps with the process's limit. */
  private static final long RESERVED_DESCRIPTORS = 256;

  private final String listener;
  private final int idleTimeoutMs;
  private final int requestTimeoutMs;
  private final int maxConnections;
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong expired = new AtomicLong();
  private final java.util.concurrent.atomic.AtomicBoolean unarmedWarned =
      new java.util.concurrent.atomic.AtomicBoolean();
  private final AtomicLong lastLog = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);

  /** @param listener names the listener in log lines ({@code kms}, {@code xks}) */
  public ConnectionGuard(String listener, int idleTimeoutMs, int requestTimeoutMs, int maxConnections) {
    this.listener = listener;
    this.idleTimeoutMs = idleTimeoutMs;
    this.requestTimeoutMs = requestTimeoutMs;
    this.maxConnections = maxConnections;
  }

  /** Sets the idle timeout and the TLS handshake deadline, and turns HTTP/2 off. */
  public void apply(HttpServerOptions options) {
    options.setIdleTimeout(idleTimeoutMs)
        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
        .setSslHandshakeTimeout(requestTimeoutMs)
        .setSslHandshakeTimeoutUnit(TimeUnit.MILLISECONDS)
        .setHttp2ClearTextEnabled(false)
        .setUseAlpn(false);
  }

  /** The connection handler: counts the connection, refuses it over the cap, else arms its request deadline. */
  public void accept(HttpConnection connection) {
    Channel channel = channel(connection);
    if (open.incrementAndGet() > maxConnections) {
      open.decrementAndGet();
      long n = refused.incrementAndGet();
      logOccasionally(() -> listener + " listener: " + n + " connection(s) refused so far, " + maxConnections
          + " open (http.max_connections)");
      // written from the decoder's place in the pipeline, so it goes out as bytes (through TLS, if any) and not
      // through the HTTP encoder, which takes only Vert.x's own response objects; whatever the client sends is
      // dropped before the decoder (reading goes on: a TLS handshake may still be under way, and the answer waits
      // for it), and the connection is closed at the request deadline at the latest
      ChannelHandlerContext decoder = channel == null ? null : channel.pipeline().context("httpDecoder");
      if (decoder != null) {
        channel.pipeline().addBefore("httpDecoder", REFUSED, DISCARD);
        decoder.writeAndFlush(Unpooled.wrappedBuffer(BUSY)).addListener(ChannelFutureListener.CLOSE);
        channel.eventLoop().schedule(() -> channel.close(), requestTimeoutMs, TimeUnit.MILLISECONDS);
      } else {
        connection.close();
      }
      return;
    }
    connection.closeHandler(v -> open.decrementAndGet());
    if (channel != null) {
      arm(channel.pipeline());
    } else if (unarmedWarned.compareAndSet(false, true)) {
      LOG.warning(() -> listener + " listener: Vert.x gives no Netty channel for its connections; the request "
          + "deadline is not armed (the idle timeout and the cap still apply)");
    }
  }

  /**
   * Warns when the listeners' caps together leave too few of the process's file descriptors for everything else
   * (the PKCS#11 library, the metadata store, the audit trail): then descriptors, not the cap, run out first.
   */
  public static void checkDescriptorLimit(long connectionCaps) {
    try {
      if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
          instanceof com.sun.management.UnixOperatingSystemMXBean os) {
        long max = os.getMaxFileDescriptorCount();
        if (max > 0 && connectionCaps + RESERVED_DESCRIPTORS > max) {
          LOG.warning(() -> "http.max_connections allows " + connectionCaps + " connections on all listeners, but "
              + "the process may open only " + max + " file descriptors, of which about " + RESERVED_DESCRIPTORS
              + " are needed for the HSM, the store and the audit trail: raise the limit (ulimit -n, systemd's "
              + "LimitNOFILE=) or lower http.max_connections");
        }
      }
    } catch (RuntimeException | InternalError e) {
      // no limit to compare with
    }
  }

  private void arm(ChannelPipeline pipeline) {
    if (pipeline.get("httpDecoder") == null) {
      // not the HTTP/1.x pipeline this guard knows (a Vert.x upgrade?): the idle timeout still applies
      LOG.warning(() -> listener + " listener: no HTTP/1.x decoder in the pipeline; request deadline not armed");
      return;
    }
    Deadline deadline = new Deadline();
    pipeline.addBefore("httpDecoder", DEADLINE_START, deadline.start);
    pipeline.addAfter("httpDecoder", DEADLINE_STOP, deadline.stop);
    // the first request is due within the deadline of the connection's opening, bytes or not
    deadline.arm(pipeline.context(DEADLINE_START));
  }

  /** The Netty channel under a Vert.x connection (Vert.x's own connection classes all extend ConnectionBase). */
  private static Channel channel(HttpConnection connection) {
    return connection instanceof io.vertx.core.net.impl.ConnectionBase base ? base.channel() : null;
  }

  private void logOccasionally(java.util.function.Supplier<String> message) {
    long now = System.nanoTime();
    long last = lastLog.get();
    if (now - last >= LOG_EVERY_NANOS && lastLog.compareAndSet(last, now)) {
      LOG.warning(message);
    }
  }

  /** One connection's request timer; every method runs on the connection's event loop. */
  private final class Deadline {
    private ScheduledFuture<?> timer;

    final ChannelInboundHandlerAdapter start = new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf b && b.isReadable()) {
          arm(ctx);
        }
        ctx.fireChannelRead(msg);
      }

      @Override
      public void channelInactive(ChannelHandlerContext ctx) {
        disarm();
        ctx.fireChannelInactive();
      }
    };

    final ChannelInboundHandlerAdapter stop = new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof LastHttpContent) {
          // the request is in; bytes after it in the same read belong to the next request, whose timer starts at
          // the next read (a client cannot gain more than one deadline by pipelining)
          disarm();
        }
        ctx.fireChannelRead(msg);
      }
    };

    void arm(ChannelHandlerContext ctx) {
      if (timer == null) {
        timer = ctx.executor().schedule(() -> expire(ctx.channel()), requestTimeoutMs, TimeUnit.MILLISECONDS);
      }
    }

    void disarm() {
      if (timer != null) {
        timer.cancel(false);
        timer = null;
      }
    }

    private void expire(Channel channel) {
      timer = null;
      long n = expired.incrementAndGet();
      logOccasionally(() -> listener + " listener: " + n + " connection(s) closed so far for a request not "
          + "complete within " + requestTimeoutMs + " ms (http.request_timeout_ms), the latest from "
          + channel.remoteAddress());
      channel.close();
    }
  }

  @io.netty.channel.ChannelHandler.Sharable
  private static final class Discard extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      io.netty.util.ReferenceCountUtil.release(msg);
    }
  }

  /** 503 with the KMS JSON error shape; the SDKs retry a 503 with backoff. */
  private static byte[] busyResponse() {
    String body = "{\"__type\":\"ServiceUnavailableException\",\"message\":\"Too many open connections; retry "
        + "later.\"}";
    return ("HTTP/1.1 503 Service Unavailable\r\n"
        + "Content-Type: " + ErrorResponses.CONTENT_TYPE + "\r\n"
        + "x-amzn-ErrorType: ServiceUnavailableException\r\n"
        + "Content-Length: " + body.length() + "\r\n"
        + "Connection: close\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII);
  }
}
