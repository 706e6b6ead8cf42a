// A memory manager for generic payloads (tlm::tlm_mm_interface): an initiator takes a payload
// from its pool per transaction and the payload returns to the pool when its reference count
// drops to zero, so a transaction allocates nothing (a payload on the stack allocates its
// extension array each time). Several transactions may be in flight at once (a process suspended
// in one while another process of the same initiator starts the next): each gets its own payload.
#pragma once

#include <cstdint>
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

  // A payload with reference count 1; release() it (or use Payload below) when done.
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
    // Forget extensions the initiator set and did not clear (a transaction that threw): they
    // lived on its stack.
    for (unsigned index = 0; index < tlm::max_num_extensions(); ++index) {
      if (payload->get_extension(index) != nullptr) payload->set_extension(index, nullptr);
    }
    free_.push_back(payload);
  }
  // Payloads ever created (the most in flight at once).
  size_t created() const { return owned_.size(); }

  // One transaction's payload, back to the pool at the end of the scope.
  class Payload {
   public:
    explicit Payload(PayloadPool& pool) : payload_(pool.allocate()) {}
    Payload(const Payload&) = delete;
    Payload& operator=(const Payload&) = delete;
    ~Payload() { payload_->release(); }
    tlm::tlm_generic_payload& operator*() const { return *payload_; }
    tlm::tlm_generic_payload* operator->() const { return payload_; }

   private:
    tlm::tlm_generic_payload* payload_;
  };

 private:
  std::vector<std::unique_ptr<tlm::tlm_generic_payload>> owned_;
  std::vector<tlm::tlm_generic_payload*> free_;
};

}  // namespace cimtlm::kernel
