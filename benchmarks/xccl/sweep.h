// The loop over sizes that fills one section of the table, the same for
// every program: each size becomes a Shape, each shape a row with its
// out-of-place and in-place measurements and the memcpy ceiling.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "collective.h"
#include "memcpy_ceiling.h"
#include "options.h"
#include "report.h"

namespace xccl_bench {

// Measures one call shape on this rank; returns the figures averaged over
// ranks (the same on every rank), or an unmeasured Measurement when the
// program has no such variant (printed N/A).
using MeasureFn = std::function<Measurement(const Shape &shape, bool in_place)>;

// One section: `coll` (with `variant` in its title) at every size.
void sweep(const Options &options, Coll coll, const std::string &variant, int nranks,
           Report &report, const MemcpyCeiling &ceiling, const MeasureFn &measure);

// Measures one call shape of `coll` (see MeasureFn).
using MeasureCollFn = std::function<Measurement(Coll coll, const Shape &shape, bool in_place)>;

// Every collective of options.colls that `skip` does not exclude, one
// section each, then the footer and the JSON file. Returns the number of
// wrong elements over all ranks.
long sweepAll(
    const Options &options, int nranks, Report &report, const MemcpyCeiling &ceiling,
    const MeasureCollFn &measure,
    const std::function<bool(Coll)> &skip = [](Coll) { return false; });

// Every row size the sections will have, for measureMemcpy.
std::vector<size_t> rowBytes(const Options &options, int nranks);

}  // namespace xccl_bench
