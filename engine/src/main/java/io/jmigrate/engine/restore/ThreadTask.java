package io.jmigrate.engine.restore;

import io.jmigrate.engine.compel.StoppedThread;
import io.jmigrate.engine.image.proto.ThreadCore;

/** A thread of the puppet being restored: its dumped state, a way to run system calls in it, what it deferred. */
record ThreadTask(ThreadCore core, Puppet puppet, StoppedThread held) {}
