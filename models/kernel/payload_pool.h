// A memory manager for generic payloads (tlm::tlm_mm_interface): an initiator takes a payload
// from its pool per transaction and the payload returns to the pool when its reference count
// drops to zero, so a transaction allocates nothing (a payload on the stack allocates its
// extension array each time). Several transactions may be in flight at once (a process suspended
// in one while another process of the same initiator starts the next): each gets its own payload.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <tlm>
#include <vector>

namespace cimtlm::kernel {

// Sets `payload` up for one plain transaction: `length` bytes at `address` from/to `data`, as one
// burst (streaming width = length), no byte enables, no DMI hint, response not yet given.
// Extensions are left as they are.
inline void prepare(tlm::tlm_generic_payload& payload, tlm::tlm_command command, uint64_t address,
                    unsigned char* data, uint64_t length) {
  payload.set_command(command);
  payload.set_address(address);
  payload.set_data_ptr(data);
  payload.set_data_length(static_cast<unsigned int>(length));
  payload.set_streaming_width(static_cast<unsigned int>(length));
  payload.set_byte_enable_ptr(nullptr);
  payload.set_dmi_allowed(false);
  payload.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
}

class PayloadPool : public tlm::tlm_mm_interface {
 public:
  PayloadPool() = default;
  PayloadPool(const PayloadPool&) = delete;
  PayloadPool& operator=(const PayloadPool&) = delete;
  ~PayloadPool() override = default;

  // A payload with reference count 1; release() it (or use Payload below) when done, with the
  // extensions the initiator set cleared (TLM-2.0's rule for non-auto extensions).
  tlm::tlm_generic_payload* allocate() {
    tlm::tlm_generic_payload* payload = nullptr;
    if (free_.empty()) {
      owned_.push_back(std::make_unique<tlm::tlm_generic_payload>(this));
      payload = owned_.back().get();
    } else {
      payload = free_.back();
      free_.pop_back();
    }
    payload->acquire();
    return payload;
  }
  void free(tlm::tlm_generic_payload* payload) override {
    payload->reset();  // frees auto extensions
    free_.push_back(payload);
  }
  // Forgets every extension set on `payload` (without freeing them: they live on the stack of
  // the initiator). Payload does this for a transaction that threw before clearing its own.
  static void forget_extensions(tlm::tlm_generic_payload& payload) {
    const unsigned count = tlm::max_num_extensions();
    for (unsigned index = 0; index < count; ++index) {
      if (payload.get_extension(index) != nullptr) payload.set_extension(index, nullptr);
    }
  }
  // Payloads ever created (the most in flight at once).
  size_t created() const { return owned_.size(); }

  // One transaction's payload, back to the pool at the end of the scope. A scope left by an
  // exception (a transaction that threw between setting and clearing an extension) forgets the
  // extensions left set, which lived on the unwound stack; a normal end costs no scan of the
  // extension slots (two out-of-line SystemC calls per registered extension type, per
  // transaction, were a tenth of the controller's host time).
  class Payload {
   public:
    explicit Payload(PayloadPool& pool)
        : payload_(pool.allocate()), exceptions_(std::uncaught_exceptions()) {}
    Payload(const Payload&) = delete;
    Payload& operator=(const Payload&) = delete;
    ~Payload() {
      if (std::uncaught_exceptions() > exceptions_) forget_extensions(*payload_);
      payload_->release();
    }
    tlm::tlm_generic_payload& operator*() const { return *payload_; }
    tlm::tlm_generic_payload* operator->() const { return payload_; }

   private:
    tlm::tlm_generic_payload* payload_;
    int exceptions_;  // exceptions in flight when the transaction began
  };

 private:
  std::vector<std::unique_ptr<tlm::tlm_generic_payload>> owned_;
  std::vector<tlm::tlm_generic_payload*> free_;
};

}  // namespace cimtlm::kernel
