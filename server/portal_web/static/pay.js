// Pay Now: mount Stripe Elements for the PaymentIntent the page was rendered with
// (its client secret and the account's publishable key are data attributes of the form).
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.dataset.publishableKey);
  var elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  var payment = elements.create("payment");
  payment.mount("#payment-element");
  var message = document.getElementById("payment-message");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    document.getElementById("payment-submit").disabled = true;
    stripe.confirmPayment({
      elements: elements,
      confirmParams: { return_url: form.dataset.returnUrl }
    }).then(function (result) {
      if (result.error) {
        message.textContent = result.error.message;
        document.getElementById("payment-submit").disabled = false;
      }
    });
  });
})();
