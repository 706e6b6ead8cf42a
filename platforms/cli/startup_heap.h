// Start-up cost of the libraries' static constructors (issue 10, target 2: a whole run of a tiny
// network in <= 50 ms). See startup_heap.cpp.
#pragma once

namespace cimtlm::platforms::cli {

// Called first thing in sc_main: from then on operator new[] is the plain one, and the malloc
// heap is set for the simulation (startup_heap.cpp).
void static_initialization_done();

}  // namespace cimtlm::platforms::cli
