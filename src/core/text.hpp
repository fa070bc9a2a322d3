// Small text helpers used by error messages.
#pragma once
#include <string>
#include <vector>

namespace cimkit {

// Edit distance (insert, delete, substitute, adjacent transpose), for did-you-mean hints.
int edit_distance(const std::string& a, const std::string& b);

// The closest candidate to `word`, if it is close enough to be a plausible typo.
// " (did you mean 'x'?)" when did_you_mean finds a candidate, else "".
std::string did_you_mean_hint(const std::string& word, const std::vector<std::string>& candidates);
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// "a, b, c"
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

// Formats a double with the fewest digits that read back to the same value.
std::string format_double(double v);

}  // namespace cimkit
