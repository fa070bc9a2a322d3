// MNSIM 2.0's SRAM buffer tables (mnsim_tables.cpp has the source and layout).
#pragma once

namespace cimkit::cost::mnsim {

constexpr int kSramEntries = 108;
extern const double kSramLeakageMw[kSramEntries];
extern const double kSramAreaMm2[kSramEntries];
extern const double kSramReadNj[kSramEntries];
extern const double kSramWriteNj[kSramEntries];

}  // namespace cimkit::cost::mnsim
