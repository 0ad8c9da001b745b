/*
 * Profile updates (Segment identify and group) and identity links (alias):
 * how a canonical event of kind TLY_EVENT_PROFILE or TLY_EVENT_ALIAS
 * changes the state store. A TLY_EVENT_TRACK event with `traits` set
 * (MoEngage's user_attributes) is recorded as an activity and its traits
 * are merged exactly as a profile update's.
 *
 * Attributes merge key by key, last write wins by event time: each
 * top-level trait replaces the attribute of the same name unless that
 * attribute was set by an event with a later timestamp; the times are kept
 * beside the attributes (users.attribute_times), so updates arriving out of
 * order end in the same attributes as in order. Values are copied whole (a
 * nested object replaces the old one). Group traits go under
 * attributes.groups[groupId], merged the same way inside it, so "groups"
 * is reserved for them.
 *
 * An alias (previousId → userId) records the identity link and merges the
 * previous (anonymous) user into the known one (README, "Users"): its
 * attributes by the same last-write-wins rule on the kept times (a tie
 * keeps the known user's value), and its static segment memberships (the
 * known user enters at the alias's receive time). Campaign progress is the
 * engine's part (tly_engine_merge), called by the pipeline after this.
 */
#ifndef TLY_PIPELINE_PROFILE_H
#define TLY_PIPELINE_PROFILE_H

#include "sources/adapter.h"
#include "store/state.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* Merges `traits` into `attrs` (the attributes object) and `times` (the
 * per-key times object), both modified in place and still owned by the
 * caller; `group_id` NULL for identify. Sets *changed when anything was
 * written. 0 or TLY_ENOMEM (the objects may then be partly merged). */
int tly_profile_merge(cJSON *attrs, cJSON *times, const cJSON *traits, const char *group_id,
                      int64_t ts, int *changed);

/* Applies a profile or alias event inside the pipeline's open transaction
 * (a track event without traits: nothing). 0, or a store error. */
int tly_profile_apply(struct tly_state *st, const struct tly_event *ev);

#endif
