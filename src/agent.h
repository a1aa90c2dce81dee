/*
 * agent.h - the running agent: owns the event loop, the settings in force,
 * the signal handlers and the parts that do the work.
 */
#ifndef ANT_AGENT_H
#define ANT_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct agent;

/* Ask the agent to stop gracefully (from a signal, the console, --run-for).
 * Safe to call more than once. */
void agent_stop(struct agent *a, const char *why);
uv_loop_t *agent_loop(struct agent *a);

#endif
