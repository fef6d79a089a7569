package io.kmsgw.hsm.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The pool's logic with fake sessions; the same pool on SoftHSM2 is in Pkcs11HsmTest. */
class SessionPoolTest {
  static final class FakeSession {
    final int id;
    volatile boolean valid = true;
    volatile boolean closed;

    FakeSession(int id) {
      this.id = id;
    }
  }

  static class Factory implements SessionPool.Factory<FakeSession> {
    final AtomicInteger opened = new AtomicInteger();
    final List<FakeSession> all = new ArrayList<>();

    @Override
    public synchronized FakeSession open() {
      FakeSession s = new FakeSession(opened.incrementAndGet());
      all.add(s);
      return s;
    }

    @Override
    public boolean isValid(FakeSession s) {
      return s.valid;
    }

    @Override
    public void close(FakeSession s) {
      s.closed = true;
    }
  }

  private final AtomicLong clock = new AtomicLong();

  private SessionPool<FakeSession> pool(Factory f, int size, Duration timeout, Duration validateAfterIdle) {
    return new SessionPool<>("test", f, size, timeout, validateAfterIdle, clock::get);
  }

  @Test
  void borrow_opensSessionsLazilyUpToTheSize() throws HsmException {
    Factory f = new Factory();
    SessionPool<FakeSession> p = pool(f, 2, Duration.ofMillis(50), Duration.ofHours(1));
    var a = p.borrow();
    var b = p.borrow();
    assertNotSame(a.session(), b.session());
    assertEquals(2, f.opened.get());
    assertEquals(2, p.stats().inUse());
  }

  @Test
  void borrow_reusesTheMostRecentlyReturnedSession() throws HsmException {
    Factory f = new Factory();
    SessionPool<FakeSession> p = pool(f, 4, Duration.ofMillis(50), Duration.ofHours(1));
    p.fill();
    var a = p.borrow();
    p.release(a, false);
    assertSame(a.session(), p.borrow().session());
    assertEquals(4, f.opened.get());
  }

  @Test
  void borrow_whenAllSessionsAreBusy_failsPoolExhaustedAfterTheTimeout() throws HsmException {
    Factory f = new Factory();
    SessionPool<FakeSession> p = new SessionPool<>("test", f, 1, Duration.ofMillis(100), Duration.ofHours(1));
    p.borrow();
    long start = System.nanoTime();
    HsmException e = assertThrows(HsmException.class, p::borrow);
    assertEquals(HsmErrorKind.POOL_EXHAUSTED, e.kind());
    assertTrue(System.nanoTime() - start >= 90_000_000L, "waited for the timeout");
    assertEquals(1, p.stats().timeouts());
  }

  @Test
  void borrow_waiterGetsTheSessionWhenItIsReturned() throws Exception {
    Factory f = new Factory();
    SessionPool<FakeSession> p = new SessionPool<>("test", f, 1, Duration.ofSeconds(5), Duration.ofHours(1));
    var held = p.borrow();
    CompletableFuture<FakeSession> waiter = borrowWhenWaiting(p);
    p.release(held, false);
    assertSame(held.session(), waiter.get(5, TimeUnit.SECONDS));
  }

  /** Starts a borrower in another thread and returns once it is waiting in the pool. */
  private static CompletableFuture<FakeSession> borrowWhenWaiting(SessionPool<FakeSession> p) {
    CompletableFuture<FakeSession> result = CompletableFuture.supplyAsync(() -> {
      try {
        return p.borrow().session();
      } catch (HsmException e) {
        throw new IllegalStateException(e);
      }
    }, r -> new Thread(r).start());
    while (p.stats().waiting() == 0) {
      Thread.onSpinWait();
    }
    return result;
  }

  @Test
  void release_broken_closesAndReplacesTheSessionForAWaiter() throws Exception {
    Factory f = new Factory();
    SessionPool<FakeSession> p = new SessionPool<>("test", f, 1, Duration.ofSeconds(5), Duration.ofHours(1));
    var broken = p.borrow();
    CompletableFuture<FakeSession> waiter = borrowWhenWaiting(p);
    p.release(broken, true);
    FakeSession received = waiter.get(5, TimeUnit.SECONDS);
    assertTrue(broken.session().closed);
    assertNotSame(broken.session(), received);
    assertEquals(1, p.stats().evicted());
    assertEquals(1, p.stats().open());
  }

  @Test
  void borrow_sessionIdleTooLongAndInvalid_isEvictedAndAnotherGiven() throws HsmException {
    Factory f = new Factory();
    SessionPool<FakeSession> p = pool(f, 2, Duration.ofMillis(50), Duration.ofSeconds(10));
    var a = p.borrow();
    p.release(a, false);
    a.session().valid = false;
    clock.addAndGet(Duration.ofSeconds(11).toNanos());
    var b = p.borrow();
    assertNotSame(a.session(), b.session());
    assertTrue(a.session().closed);
    assertEquals(1, p.stats().evicted());
  }

  @Test
  void borrow_sessionUsedRecently_isNotValidated() throws HsmException {
    Factory f = new Factory();
    SessionPool<FakeSession> p = pool(f, 1, Duration.ofMillis(50), Duration.ofSeconds(10));
    var a = p.borrow();
    p.release(a, false);
    a.session().valid = false;
    clock.addAndGet(Duration.ofSeconds(1).toNanos());
    assertSame(a.session(), p.borrow().session());
  }

  @Test
  void replacementOpenedWhileThePoolCloses_isClosedToo() throws HsmException {
    AtomicReference<SessionPool<FakeSession>> self = new AtomicReference<>();
    Factory f = new Factory() {
      @Override
      public synchronized FakeSession open() {
        FakeSession s = super.open();
        if (opened.get() == 2) {
          self.get().close(); // shutdown lands between the replacement's open and its return to the pool
        }
        return s;
      }
    };
    SessionPool<FakeSession> p = pool(f, 1, Duration.ofMillis(50), Duration.ofHours(1));
    self.set(p);
    var broken = p.borrow();
    p.release(broken, true);
    assertEquals(0, p.stats().open(), p.stats().toString());
    assertEquals(0, p.stats().idle());
    assertTrue(f.all.stream().allMatch(s -> s.closed), "no session outlives the pool");
  }

  @Test
  void close_closesIdleSessionsAndLaterReturns() throws HsmException {
    Factory f = new Factory();
    SessionPool<FakeSession> p = pool(f, 2, Duration.ofMillis(50), Duration.ofHours(1));
    var a = p.borrow();
    var b = p.borrow();
    p.release(b, false);
    p.close();
    assertTrue(b.session().closed);
    p.release(a, false);
    assertTrue(a.session().closed);
    assertEquals(0, p.stats().open());
    assertThrows(HsmException.class, p::borrow);
  }
}
