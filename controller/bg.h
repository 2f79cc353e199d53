/*
 * A background thread for slow blocking work of the controller (writing
 * snapshots): jobs run one at a time off the event loop; each job's done
 * callback runs on the loop afterwards.
 */
#ifndef MO_BG_H
#define MO_BG_H

struct event_base;
struct bg;

struct bg_job {
	void		(*run)(struct bg_job *);	/* on the thread */
	void		(*done)(struct bg_job *);	/* on the loop */
	void		(*release)(struct bg_job *);	/* not run at close */
	struct bg_job	*next;
};

struct bg *bg_new(struct event_base *);
void	bg_submit(struct bg *, struct bg_job *);
/* Waits for the running job; queued and finished jobs are released. */
void	bg_free(struct bg *);

#endif
