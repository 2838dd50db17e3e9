// Pay Now, for the PaymentIntent the page was rendered with (its client secret and the
// account's publishable key are data attributes of the form):
// - a new card: mount Stripe's Payment Element and confirmPayment, which goes on to
//   the return URL;
// - a saved card the bank wants authenticated (3-D Secure, the intent in
//   requires_action): confirmCardPayment(clientSecret) runs the bank's challenge, then
//   the page goes on to the return URL.
// The submit button is rendered disabled and enabled here, once its handler is in place:
// a click before the scripts have loaded would otherwise submit the bare form.
(function () {
  "use strict";
  if (typeof Stripe === "undefined") { return; }
  var message = document.getElementById("payment-message");
  var submit = document.getElementById("payment-submit");

  function failed(result) {
    message.textContent = (result.error && result.error.message) || "The payment did not go through.";
    submit.disabled = false;
  }

  var authenticate = document.getElementById("authenticate-form");
  if (authenticate) {
    var bank = Stripe(authenticate.dataset.publishableKey);
    authenticate.addEventListener("submit", function (event) {
      event.preventDefault();
      submit.disabled = true;
      message.textContent = "";
      bank.confirmCardPayment(authenticate.dataset.clientSecret).then(function (result) {
        if (result.error) {
          failed(result);
        } else {
          window.location.assign(authenticate.dataset.returnUrl);
        }
      });
    });
    submit.disabled = false;
    return;
  }

  var form = document.getElementById("payment-form");
  if (!form) { return; }
  var stripe = Stripe(form.dataset.publishableKey);
  var elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  var payment = elements.create("payment");
  payment.mount("#payment-element");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit.disabled = true;
    stripe.confirmPayment({
      elements: elements,
      confirmParams: { return_url: form.dataset.returnUrl }
    }).then(function (result) {
      if (result.error) { failed(result); }
    });
  });
  submit.disabled = false;
})();
